// izwi — local voice-cloning text-to-speech. The whole public API.
#pragma once

#include "izwi/audio.h"
#include "izwi/base64.h"
#include "izwi/batch.h"
#include "izwi/error.h"
#include "izwi/jobs.h"
#include "izwi/npy.h"
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

}  // namespace izwi
