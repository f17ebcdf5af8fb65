// The HTTP API's request fields: a JSON body read as every kind of field the
// routes ask for (text, number, integer, boolean, base64 bytes), its field
// names checked against those.
#include <httplib.h>

#include "fuzz_util.h"
#include "server/api_error.h"
#include "server/request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  httplib::Request req;
  req.body.assign(reinterpret_cast<const char*>(data), size);
  req.set_header("Content-Type", "application/json");
  try {
    const std::vector<std::string> names = {
        "input",           "model",       "voice", "seed",    "speed", "stream",
        "reference_audio", "temperature", "top_k", "consent", "name"};
    const izwi::server::RequestFields f(req, names);
    for (const std::string& name : names) {
      try {
        (void)f.has(name);
        (void)f.text(name);
        (void)f.number(name);
        (void)f.integer(name);
        (void)f.boolean(name);
        (void)f.bytes(name);
      } catch (const izwi::server::ApiError&) {
      }
    }
  } catch (const izwi::server::ApiError&) {
  } catch (const izwi::Error&) {
  }
  return 0;
}
