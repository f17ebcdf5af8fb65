// Random-weight checkpoints: declared in the public izwi/random_checkpoint.h.
#pragma once

#include "izwi/random_checkpoint.h"
