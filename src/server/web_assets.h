// The Web UI's files (web/index.html, web/styles.css, web/dist/*.js), compiled
// into the binary by cmake/embed_files.cmake: izwi serve needs nothing beside it.
#pragma once

#include <cstddef>
#include <vector>

namespace izwi::server {

struct WebAsset {
  const char* path;          // URL path: "/" or "/assets/main.js"
  const char* content_type;  // without the charset (UTF-8 for all of them)
  const unsigned char* data;
  size_t size;
};

const std::vector<WebAsset>& web_assets();

}  // namespace izwi::server
