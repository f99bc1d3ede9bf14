/* Nested virtualization: the one place that knows what a domain needs to run
 * a hypervisor (Hyper-V or KVM) inside itself. Works on domain XML documents
 * (libxml2 trees) so it serves both rendering and `nestlab nested enable`. */
#pragma once

#include <glib.h>
#include <libxml/tree.h>
#include <nestlab/enum.h>

G_BEGIN_DECLS

typedef enum {
  NL_CPU_VENDOR_UNKNOWN,
  NL_CPU_VENDOR_INTEL,
  NL_CPU_VENDOR_AMD,
  NL_CPU_VENDOR_LAST
} NlCpuVendor;
NL_ENUM_DECL (nl_cpu_vendor);

/* 4 GiB: the least memory a nested hypervisor gets. */
#define NL_NESTED_MIN_MEMORY (G_GUINT64_CONSTANT (4) << 30)

typedef struct {
  NlCpuVendor vendor;    /* the host's CPU vendor: picks vmx or svm, evmcs */
  gboolean emulate;      /* no KVM: domain type qemu, CPU mode maximum */
  guint64 min_memory;    /* bytes; 0 means NL_NESTED_MIN_MEMORY */
  gboolean windows;      /* apply nested-safe Hyper-V enlightenments */
} NlNestedOptions;

/* Makes DOC (a <domain>) nested-ready. Appends one human-readable line per
 * change made to CHANGES (may be NULL; newly allocated strings, so give the
 * array g_free as free function); no change means already set up.
 * DOC is modified in place; nothing is freed that the caller owns.
 * The extension required is vmx (Intel) or svm (AMD); under emulation it is
 * svm whatever the host, since QEMU's software emulation emulates SVM (its
 * "max" CPU is an AuthenticAMD) but not VMX. */
gboolean nl_nested_enable (xmlDocPtr doc, const NlNestedOptions *options,
                           GPtrArray *changes, GError **error);

/* Removes the exposure of virtualization extensions (the CPU feature); leaves
 * memory as it is. Appends changes like nl_nested_enable. */
gboolean nl_nested_disable (xmlDocPtr doc, const NlNestedOptions *options,
                            GPtrArray *changes, GError **error);

/* Makes DOC (a <domain> of type kvm) run under QEMU's software emulation:
 * type qemu, a host CPU mode becomes maximum (QEMU's "host" CPU needs KVM),
 * vmx gives way to svm (what emulation offers), and the Hyper-V
 * enlightenments QEMU refuses without KVM go. Other types are left as they
 * are. Appends changes like nl_nested_enable. */
gboolean nl_nested_emulate (xmlDocPtr doc, GPtrArray *changes, GError **error);

/* Whether DOC is nested-ready; every reason it is not is appended to REASONS
 * (may be NULL). */
gboolean nl_nested_check (xmlDocPtr doc, const NlNestedOptions *options,
                          GPtrArray *reasons);

/* The vendor a CPU vendor string names: /proc/cpuinfo's vendor_id
 * (GenuineIntel, AuthenticAMD, HygonGenuine) or libvirt's capabilities
 * (Intel, AMD). The one place vendors are told apart. */
NlCpuVendor nl_cpu_vendor_from_id (const char *id);

/* Gives DOC (a <domain>) nestlab's Hyper-V enlightenments for Windows guests:
 * <features><hyperv mode='custom'> with relaxed, vapic, spinlocks (8191
 * retries), vpindex, runtime, synic, stimer (direct), frequencies, tlbflush
 * and ipi; under emulation vpindex, synic and stimer are left out (QEMU
 * refuses them without KVM), and an evmcs that would stop the domain from
 * starting is removed. Also the hypervclock timer. The one definition, used
 * by rendering and by nl_nested_enable with options->windows, which also
 * turns on evmcs (the enlightened VMCS, for a nested Hyper-V) on an Intel
 * host under KVM. Appends changes like nl_nested_enable. */
gboolean nl_nested_set_hyperv (xmlDocPtr doc, const NlNestedOptions *options,
                               GPtrArray *changes, GError **error);

/* Parses domain XML (as virsh dumpxml gives it) without network access,
 * entities or DTD, dropping blank text so a formatted dump of the changed
 * document is evenly indented. NULL with ERROR (NL_ERROR_INVALID) when it is
 * not well-formed or its root is not <domain>. Caller frees with xmlFreeDoc. */
xmlDocPtr nl_nested_parse_domain (const char *xml, GError **error);

G_END_DECLS
