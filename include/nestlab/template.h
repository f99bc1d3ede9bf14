/* Lab templates: parse an XML template (with its includes), substitute
 * params, apply profiles, expand counts and validate the result into an
 * NlLab. Pure: reads files, never talks to libvirt. */
#pragma once

#include <glib.h>
#include <nestlab/model.h>

G_BEGIN_DECLS

/* Largest template file accepted, in bytes. */
#define NL_TEMPLATE_MAX_SIZE (4 * 1024 * 1024)
/* Deepest element nesting accepted. */
#define NL_TEMPLATE_MAX_DEPTH 32
/* Deepest chain of includes accepted. */
#define NL_TEMPLATE_MAX_INCLUDES 16

/* Loads FILE. OVERRIDES (may be NULL) maps param names to values given on the
 * command line; a name the template does not declare is an error.
 * On failure returns NULL and sets ERROR (NL_ERROR_INVALID for bad input) to
 * one or more lines "FILE:LINE: message". Caller owns the result. */
NlLab *nl_template_load (const char *file, GHashTable *overrides, GError **error);

/* Parses "name=value" (a --set argument) into OVERRIDES. */
gboolean nl_template_parse_override (GHashTable *overrides, const char *arg, GError **error);

/* The RelaxNG schema text built into the library (templates/schema/lab.rng). */
const char *nl_template_schema (void);

/* The folder of the shipped role recipes: $NESTLAB_ROLES_DIR, else the
 * installed one, else the source tree's templates/roles. Newly allocated. */
char *nl_template_roles_dir (void);

G_END_DECLS
