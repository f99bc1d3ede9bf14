/* The NL_ERROR domain. */
#include <nestlab/error.h>

G_DEFINE_QUARK (nestlab-error-quark, nl_error)
