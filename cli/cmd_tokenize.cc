// `izwi tokenize`: text <-> Qwen2 token ids, as JSON.
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "izwi/izwi.h"

namespace izwi::cli {

namespace {

struct TokenizeArgs {
  std::string text, model;
  bool decode = false;
};

std::vector<int32_t> parse_ids(const std::string& s) {
  // A JSON array, or ids separated by spaces/commas.
  std::string body = s;
  if (body.find('[') != std::string::npos) {
    try {
      return nlohmann::json::parse(body).get<std::vector<int32_t>>();
    } catch (const nlohmann::json::exception&) {
      throw Error(ErrorKind::kInvalidArgument,
                  "--decode expects a JSON array of integer ids, got: " + s);
    }
  }
  std::vector<int32_t> ids;
  std::string cur;
  for (char c : body + " ") {
    if (c == ' ' || c == ',' || c == '\n' || c == '\t') {
      if (cur.empty()) continue;
      try {
        size_t used = 0;
        const long v = std::stol(cur, &used);
        if (used != cur.size() || v < INT32_MIN || v > INT32_MAX) throw std::invalid_argument(cur);
        ids.push_back(static_cast<int32_t>(v));
      } catch (const std::exception&) {
        throw Error(ErrorKind::kInvalidArgument, "'" + cur + "' is not a token id");
      }
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  return ids;
}

void run_tokenize(const TokenizeArgs& a) {
  std::string input = a.text;
  if (input == "-") input = read_stdin();
  auto tok = TextTokenizer::load(a.model);
  if (a.decode) {
    std::printf("%s\n", tok->decode(parse_ids(input)).c_str());
  } else {
    std::printf("%s\n", nlohmann::json(tok->encode(input)).dump().c_str());
  }
}

}  // namespace

void register_tokenize(CLI::App& app, const ContextPtr& ctx) {
  auto args = std::make_shared<TokenizeArgs>();
  CLI::App* cmd =
      app.add_subcommand("tokenize", "Text to Qwen2 token ids (a JSON array), or ids back to text");
  cmd->add_option("text", args->text, "Text to tokenize ('-' reads stdin); with --decode, the ids")
      ->required();
  cmd->add_option("-m,--model", args->model,
                  "Model name, checkpoint or tokenizer directory (vocab.json + merges.txt); "
                  "default: the default model");
  cmd->add_flag("--decode", args->decode, "Decode ids (JSON array or space-separated) to text");
  cmd->callback([args, ctx] {
    TokenizeArgs a = *args;
    std::error_code ec;
    // A tokenizer-only folder has no config.json: directories are taken as they are.
    if (a.model.empty()) a.model = default_model_name();
    if (!std::filesystem::is_directory(a.model, ec)) a.model = resolve_model(*ctx, a.model);
    run_tokenize(a);
  });
}

}  // namespace izwi::cli
