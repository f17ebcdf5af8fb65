// izwi — local voice-cloning text-to-speech. The whole public API.
#pragma once

#include <string>

#include "izwi/audio.h"
#include "izwi/base64.h"
#include "izwi/batch.h"
#include "izwi/error.h"
#include "izwi/jobs.h"
#include "izwi/npy.h"
#include "izwi/output_file.h"
#include "izwi/provenance.h"
#include "izwi/random_checkpoint.h"
#include "izwi/reference.h"
#include "izwi/speaker_encoder.h"
#include "izwi/speech_tokenizer.h"
#include "izwi/store.h"
#include "izwi/text_chunks.h"
#include "izwi/tokenizer.h"
#include "izwi/tts.h"
#include "izwi/voices.h"

namespace izwi {

// "0.1.0"
const char* version();

// The CPU kernels this process runs, chosen once from what the CPU has (capped
// by IZWI_ISA): "avx512", "avx2" or "scalar", then what the fast audio decoder
// (--codec bf16) runs on: bf16 products ("bf16 by amx", "bf16 by avx512-bf16"),
// f32 with Winograd convolutions ("winograd codec"), or plain f32 ("f32 codec").
// For reports: `izwi bench` prints it.
std::string cpu_kernels();

// Makes this process's C library keep freed memory for reuse instead of
// handing it back to the system at once. Synthesis frees and allocates
// signals of up to ~9 MB per audio block; with glibc's defaults each comes
// back as fresh pages that the kernel must fault in and zero, which cost 6-35 % (median 18 %)
// of the codec's time on a VM (docs/ARCHITECTURE.md, "Memory"). The setting is
// process-wide, so it is the program's choice: the izwi CLI and server call
// this once at start. Peak memory grows by the freed blocks kept (~10 MB for
// one stream). Returns false, changing nothing, where the C library is not glibc.
bool configure_allocator();

}  // namespace izwi
