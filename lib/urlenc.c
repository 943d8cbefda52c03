/* urlenc: placeholder until the module lands. */
#include "duo.h"

typedef int urlenc_placeholder;
