/* Host readiness for nested virtualization: can this machine run a hypervisor
 * (Hyper-V or KVM) inside its VMs? Pure code on files under a root folder
 * (/proc, /sys, /dev, /usr) and on libvirt's domain capabilities XML, so tests
 * feed fixture trees; fetching the capabilities is the caller's (virt) job. */
#pragma once

#include <glib.h>
#include <nestlab/enum.h>
#include <nestlab/nested.h>

G_BEGIN_DECLS

/* The host's CPU vendor from /proc/cpuinfo (or the file given, for tests). */
NlCpuVendor nl_host_cpu_vendor (const char *cpuinfo_path);

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

/* ---- How machines run: KVM or QEMU's software emulation (accel.c) ----
 * One decision for up, rebuild, rollout replicas and nested enable. KVM only
 * when the CPU offers hardware virtualization (vmx or svm), the user and
 * group QEMU runs as can open /dev/kvm, and libvirt offers domain type kvm;
 * otherwise emulation. The facts are read here (pure: files under a root
 * folder); libvirt's part is the virt layer's (nl_virt_accel_decide). */

typedef enum {
  NL_ACCEL_AUTO,        /* decide from the host's facts */
  NL_ACCEL_KVM,         /* --kvm: KVM, refused when it cannot work */
  NL_ACCEL_EMULATE,     /* --emulate: software emulation whatever the host */
  NL_ACCEL_LAST
} NlAccelMode;

/* What a host says about KVM. A fact that could not be learnt (a remote
 * host's files) is marked unknown and does not count against KVM. */
typedef struct {
  gboolean cpu_known;
  gboolean hw_virt;         /* vmx or svm in the CPU's flags */
  char *cpu_source;         /* where the flags came from ("/proc/cpuinfo") */
  gboolean device_known;
  gboolean device;          /* /dev/kvm exists */
  gboolean device_access;   /* the QEMU user/group can open it read-write */
  char *device_owner;       /* "root:kvm 0660" */
  char *qemu_user;          /* as QEMU runs: "libvirt-qemu" */
  char *qemu_group;         /* "kvm" */
  char *qemu_source;        /* where user and group came from */
} NlKvmFacts;

void nl_kvm_facts_free (NlKvmFacts *facts);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlKvmFacts, nl_kvm_facts_free)

/* Reads the facts from files under ROOT ("/" or a fixture tree; NULL means
 * "/"): ROOT/proc/cpuinfo, ROOT/dev/kvm, ROOT/etc/libvirt/qemu.conf (user
 * and group, else Debian's libvirt-qemu and kvm), ROOT/etc/passwd and
 * ROOT/etc/group for that user's groups (NSS too when ROOT is "/").
 * SESSION: QEMU runs as this process's user (qemu:///session). */
NlKvmFacts *nl_kvm_facts_read (const char *root, gboolean session);

typedef struct {
  gboolean kvm;      /* domain type kvm; else qemu (software emulation) */
  NlAccelMode mode;  /* what was asked */
  char *reason;      /* one sentence for people and --json: why */
  char *warning;     /* --kvm against a fact that may not hold, or NULL */
} NlAccel;

void nl_accel_free (NlAccel *accel);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlAccel, nl_accel_free)
NL_ENUM_DECL (nl_accel_mode);

/* Decides from FACTS (not owned) and whether libvirt offers domain type kvm.
 * MODE KVM is refused (NULL, NL_ERROR_UNSUPPORTED, with the reason) when
 * libvirt offers no kvm, /dev/kvm is missing or QEMU's user cannot open it;
 * without vmx/svm it goes ahead with a warning. Caller owns the result. */
NlAccel *nl_accel_decide (const NlKvmFacts *facts, gboolean kvm_offered, NlAccelMode mode,
                          GError **error);

/* DECISION as a JSON object {"domain_type", "mode", "reason", "warning"}
 * appended to OUT. */
void nl_accel_append_json (GString *out, const NlAccel *accel);

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
  /* The facts of the accel API above, or NULL: read from ROOT as for
   * libvirt's system instance. */
  const NlKvmFacts *facts;
} NlHostCheckOptions;

/* Runs every check. Returns a new array of NlHostCheck (caller owns it;
 * the array frees its elements), in a fixed order. */
GPtrArray *nl_host_check_run (const NlHostCheckOptions *options);

/* TRUE when no check in CHECKS failed. */
gboolean nl_host_check_ready (const GPtrArray *checks);

/* CHECKS as a JSON object {"ready": bool, "checks": [...], "machines":
 * {decision}} (newly allocated); "machines" only when ACCEL is not NULL. */
char *nl_host_check_to_json (const GPtrArray *checks, const NlAccel *accel);

G_END_DECLS
