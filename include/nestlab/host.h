/* Host readiness for nested virtualization: can this machine run a hypervisor
 * (Hyper-V or KVM) inside its VMs? Pure code on files under a root folder
 * (/proc, /sys, /dev, /usr) and on libvirt's domain capabilities XML, so tests
 * feed fixture trees; fetching the capabilities is the caller's (virt) job. */
#pragma once

#include <glib.h>
#include <nestlab/enum.h>

G_BEGIN_DECLS

typedef enum {
  NL_HOST_STATUS_OK,
  NL_HOST_STATUS_INFO,   /* worth knowing; does not affect readiness */
  NL_HOST_STATUS_WARN,   /* works, but slower or limited */
  NL_HOST_STATUS_FAIL,   /* nested virtualization will not work */
  NL_HOST_STATUS_LAST
} NlHostStatus;
NL_ENUM_DECL (nl_host_status);

typedef struct {
  char *id;        /* stable name: "kvm-device", "nested-param", ... */
  NlHostStatus status;
  char *message;   /* what was found, one line */
  char *fix;       /* how to fix it (exact file and command); NULL when ok */
} NlHostCheck;

void nl_host_check_free (NlHostCheck *check);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlHostCheck, nl_host_check_free)

/* 8 GiB: below this much available memory a Hyper-V lab is cramped. */
#define NL_HOST_WARN_MEMORY (G_GUINT64_CONSTANT (8) << 30)

typedef struct {
  const char *root;           /* "/" (NULL means "/"), or a fixture tree */
  /* libvirt's domain capabilities for virttype kvm, or NULL with
   * KVM_CAPS_ERROR saying why they could not be fetched. */
  const char *kvm_caps_xml;
  const char *kvm_caps_error;
  /* The same for virttype qemu (emulation); both NULL: not asked. */
  const char *qemu_caps_xml;
  const char *qemu_caps_error;
} NlHostCheckOptions;

/* Runs every check. Returns a new array of NlHostCheck (caller owns it;
 * the array frees its elements), in a fixed order. */
GPtrArray *nl_host_check_run (const NlHostCheckOptions *options);

/* TRUE when no check in CHECKS failed. */
gboolean nl_host_check_ready (const GPtrArray *checks);

/* CHECKS as a JSON object {"ready": bool, "checks": [...]} (newly allocated). */
char *nl_host_check_to_json (const GPtrArray *checks);

G_END_DECLS
