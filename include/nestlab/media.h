/* Config media: what a machine learns about itself on first boot, as the
 * files of a small read-only disk. Windows (a sysprepped image whose next
 * boot runs the specialize and oobeSystem passes) finds Unattend.xml at the
 * root of removable read-only media by itself; Linux's cloud-init reads a
 * NoCloud seed (meta-data, network-config, user-data) from a volume
 * labelled cidata. Pure: GLib, libxml2 and crypt(3); the ISO image itself
 * is made by the media-iso module (iso.h). */
#pragma once

#include <glib.h>
#include <nestlab/model.h>

G_BEGIN_DECLS

typedef enum {
  NL_MEDIA_UNATTEND,     /* Windows: Unattend.xml */
  NL_MEDIA_CLOUD_INIT,   /* Linux: NoCloud seed */
  NL_MEDIA_LAST
} NlMediaKind;
NL_ENUM_DECL (nl_media_kind);

/* The volume label of a cloud-init seed (the NoCloud data source looks for it). */
#define NL_MEDIA_LABEL_CIDATA "cidata"
/* The volume label of a Windows config disk (any label works there). */
#define NL_MEDIA_LABEL_WINDOWS "NESTLAB"

typedef struct {
  char *path;          /* relative: "Unattend.xml", "nestlab/SetupComplete.cmd" */
  GBytes *data;
} NlMediaFile;

typedef struct {
  NlMediaKind kind;
  char *label;         /* volume label */
  GPtrArray *files;    /* of NlMediaFile*, in a fixed order */
  /* SHA-256 (hex) of the configuration with every secret masked: the same
   * whether or not secrets were given. cloud-init's instance-id is made
   * from it. */
  char *config_digest;
  /* SHA-256 (hex) of the configuration and, through an HMAC keyed with
   * NlMediaOptions.digest_key, of the secrets' values: when it differs from
   * the one recorded, the media must be rebuilt. NULL for masked media. */
  char *digest;
} NlMedia;

typedef struct {
  /* Secret name -> value (nl_secret_resolve_all); NULL for masked media. */
  GHashTable *secrets;
  /* The HMAC key for the secrets' part of the digest (nl_secret_digest_key);
   * required with SECRETS. */
  GBytes *digest_key;
  /* Replace each secret by a marker naming it, for review (render --out). */
  gboolean masked;
  /* MAC salt for copies (replicas), as NlRenderOptions.salt. */
  const char *salt;
  /* The salt of SHA-512 crypt password hashes ("$6$..."): NULL draws a
   * random one each time, as it should be; tests fix it. */
  const char *crypt_salt;
} NlMediaOptions;

void nl_media_file_free (NlMediaFile *file);
void nl_media_free (NlMedia *media);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlMediaFile, nl_media_file_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlMedia, nl_media_free)

/* Whether MACHINE gets config media, and which kind: Windows and Linux
 * machines do; other OS families do not (FALSE). */
gboolean nl_media_kind_of (const NlMachine *machine, NlMediaKind *kind);

/* The config media of MACHINE in LAB. Unmasked media need every secret the
 * machine uses in OPTIONS->secrets. Returns a new NlMedia, or NULL with
 * ERROR set (NL_ERROR_INVALID: a machine without media, a secret missing);
 * no message ever holds a secret's value. */
NlMedia *nl_media_build (const NlLab *lab, const NlMachine *machine,
                         const NlMediaOptions *options, GError **error);

/* The file at PATH in MEDIA, or NULL (borrowed). */
GBytes *nl_media_lookup (const NlMedia *media, const char *path);

/* The text that stands for a secret in masked media. Newly allocated. */
char *nl_media_secret_marker (const char *name);

/* Interface identifiers in Windows' answer files: the MAC in upper case
 * with dashes ("02-AB-CD-EF-01-23"). Newly allocated. */
char *nl_media_windows_mac (const char *mac);

G_END_DECLS
