/* Secrets: the values behind the secrets a template declares, resolved from
 * a file (mode 0600 or stricter, else refused), an environment variable, or
 * generated once and kept 0600 in nestlab's state folder, so a rebuilt lab
 * gets the same ones. Pure GLib and the file system; no libvirt.
 *
 * A value never leaves this module except into the config media: never
 * into an error message, a log line, the model or anything rendered. */
#pragma once

#include <glib.h>
#include <nestlab/model.h>

G_BEGIN_DECLS

/* Largest secret accepted from a file or the environment, in bytes. */
#define NL_SECRET_MAX_SIZE 4096
/* Length of a generated secret. */
#define NL_SECRET_GENERATED_LENGTH 24

/* The folder of a lab's stored secrets: secrets/LAB in nestlab's state
 * folder (nl_state_path), or in STATE_DIR when not NULL. Newly allocated. */
char *nl_secret_lab_dir (const char *state_dir, const char *lab);

/* The value of SECRET of LAB. Generated secrets are made on first use
 * (folders 0700, file 0600, created atomically: of two concurrent runs, the
 * first one's value wins and both return it). NL_ERROR_INVALID for a file
 * that others may read, an unset variable, an empty value; the message
 * names the secret and where it is declared, never its value. Free with
 * nl_secret_value_free. */
char *nl_secret_resolve (const NlLab *lab, const NlSecret *secret, const char *state_dir,
                         GError **error);

/* The secrets the lab's machines and domain use (names, borrowed from LAB). */
GPtrArray *nl_secret_names_used (const NlLab *lab);

/* Every secret the lab uses, resolved: name -> value; values are wiped when
 * the table drops them. Stops at the first secret that fails. */
GHashTable *nl_secret_resolve_all (const NlLab *lab, const char *state_dir, GError **error);

/* A stored (generated) secret of lab LAB, by name; NL_ERROR_NOT_FOUND when
 * there is none. For `nestlab secret show`. */
char *nl_secret_load_stored (const char *state_dir, const char *lab, const char *name,
                             GError **error);

/* The key with which secrets feed the config media's digest (HMAC), so a
 * digest in a domain's mark says when a secret changed without allowing a
 * dictionary attack on it: 32 random bytes kept 0600 beside the lab's
 * stored secrets, made on first use. */
GBytes *nl_secret_digest_key (const char *state_dir, const char *lab, GError **error);

/* Overwrites VALUE, then frees it. NULL is fine. */
void nl_secret_value_free (char *value);

G_END_DECLS
