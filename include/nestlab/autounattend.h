/* Autounattend.xml: the answer file of an unattended Windows Server
 * installation from the install media, for `nestlab image build`. Windows
 * Setup finds it at the root of any removable drive. Its windowsPE pass
 * partitions disk 0 (UEFI or BIOS layout), picks the install image by its
 * index and accepts the EULA; its oobeSystem pass sets the Administrator
 * password and logs on once to install the QEMU guest agent (from the
 * virtio-win drivers media, when attached) and run Sysprep /generalize
 * /oobe /shutdown, so the disk ends generalized and the machine powers
 * itself off. Pure: GLib and libxml2. */
#pragma once

#include <glib.h>
#include <nestlab/model.h>

G_BEGIN_DECLS

/* The Sysprep command the build ends with. */
#define NL_AUTOUNATTEND_SYSPREP \
  "C:\\Windows\\System32\\Sysprep\\sysprep.exe /generalize /oobe /shutdown /mode:vm"
/* The guest agent's installer on the virtio-win media. */
#define NL_AUTOUNATTEND_AGENT_MSI "guest-agent\\qemu-ga-x86_64.msi"
/* Language and locale when none is given. */
#define NL_AUTOUNATTEND_DEFAULT_LOCALE "en-US"

typedef struct {
  NlFirmware firmware;          /* disk layout: GPT (UEFI) or MBR (BIOS) */
  guint image_index;            /* 1-based index of the image in install.wim/esd */
  const char *ui_language;      /* NULL: en-US */
  const char *input_locale;     /* keyboard; NULL: en-US */
  const char *locale;           /* system and user locale; NULL: en-US */
  const char *product_key;      /* NULL: none (evaluation media need none) */
  /* The virtio-win OS folder ("2k22"), when the drivers media is attached;
   * NULL: no drivers media, no guest agent. */
  const char *drivers_os;
  /* The Administrator password's secret: its name (for the marker of
   * masked files) and, unless MASKED, its value. */
  const char *password_name;
  const char *password;
  gboolean masked;              /* the marker in place of the password */
} NlAutounattendOptions;

/* The answer file for OPTIONS, as UTF-8 text. Unmasked, the bytes hold
 * the password and are wiped when the last reference goes. NULL with
 * NL_ERROR_INVALID for an index of 0, a language, locale or key that is
 * not one, or a missing password; no message holds the password. */
GBytes *nl_autounattend_build (const NlAutounattendOptions *options, GError **error);

/* The folder virtio-win keeps drivers for OS (a libosinfo id: win2k22 ->
 * "2k22"), or NULL when nestlab knows none. Static. */
const char *nl_autounattend_virtio_folder (const char *os);

/* The drivers the windowsPE pass adds from the drivers media, by their
 * virtio-win folder names. NULL-terminated, static. */
const char *const *nl_autounattend_virtio_drivers (void);

/* The partition Windows is installed to: 3 on UEFI (after the EFI System
 * and MSR partitions), 2 on BIOS (after System Reserved). */
guint nl_autounattend_windows_partition (NlFirmware firmware);

G_END_DECLS
