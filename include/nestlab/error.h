/* nestlab's GError domain and the codes every module reports with.
 * The CLI maps codes to exit statuses in exactly one place (cli/main.c). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define NL_ERROR (nl_error_quark ())
GQuark nl_error_quark (void);

typedef enum {
  NL_ERROR_FAILED,        /* an operation failed (exit 1) */
  NL_ERROR_INVALID,       /* bad input: template, plan, argument (exit 2) */
  NL_ERROR_USAGE,         /* bad command line (exit 2) */
  NL_ERROR_NOT_FOUND,     /* a named object does not exist (exit 1) */
  NL_ERROR_CONFLICT,      /* an object exists but is not ours (exit 1) */
  NL_ERROR_LIBVIRT,       /* libvirt refused or failed (exit 1) */
  NL_ERROR_UNSUPPORTED,   /* the host or driver cannot do it (exit 1) */
  NL_ERROR_CANCELLED,     /* interrupted by the user (exit 1) */
  NL_ERROR_DISCONNECTED,  /* lost the connection to libvirtd (exit 1); rerun to go on */
} NlErrorCode;

G_END_DECLS
