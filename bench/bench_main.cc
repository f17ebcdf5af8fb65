// The main of the Google Benchmark programs here: the allocator set up as the
// CLI and server set it (izwi::configure_allocator), so freed multi-megabyte
// buffers stay in the heap instead of coming back as fresh pages, and the
// numbers are those of what users run.
#include <benchmark/benchmark.h>

#include "izwi/izwi.h"

int main(int argc, char** argv) {
  izwi::configure_allocator();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
