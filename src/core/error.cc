#include "core/error.h"

// The error machinery is header-only; this unit exists so that the library has a
// home for future non-inline helpers (error codes for the C API).
namespace izwi {}
