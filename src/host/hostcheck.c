/* `nestlab host check`: whether this host can run a hypervisor inside its VMs,
 * and for every check that fails, why and the exact fix. Reads files under a
 * root folder and libvirt's domain capabilities text, so tests use fixtures. */
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>

#include <nestlab/host.h>
#include <nestlab/json.h>
#include "cpuinfo.h"

NL_ENUM_IMPL (nl_host_status, NL_HOST_STATUS_LAST, "ok", "info", "warn", "fail")

typedef struct {
  const char *root;
  GPtrArray *checks;
  CpuInfo cpu;
  const NlKvmFacts *facts;
} Ctx;

void
nl_host_check_free (NlHostCheck *check)
{
  if (check == NULL)
    return;
  g_free (check->id);
  g_free (check->message);
  g_free (check->fix);
  g_free (check);
}

static void
add (Ctx *ctx, const char *id, NlHostStatus status, const char *fix,
     const char *format, ...) G_GNUC_PRINTF (5, 6);

static void
add (Ctx *ctx, const char *id, NlHostStatus status, const char *fix,
     const char *format, ...)
{
  NlHostCheck *check = g_new0 (NlHostCheck, 1);
  va_list ap;

  va_start (ap, format);
  check->message = g_strdup_vprintf (format, ap);
  va_end (ap);
  check->id = g_strdup (id);
  check->status = status;
  check->fix = g_strdup (fix);
  g_debug ("host check %s: %s: %s", id, nl_host_status_to_string (status), check->message);
  g_ptr_array_add (ctx->checks, check);
}

static char *
path_in (const Ctx *ctx, const char *path)
{
  return g_build_filename (ctx->root, path, NULL);
}

static gboolean
exists_in (const Ctx *ctx, const char *path)
{
  g_autofree char *full = path_in (ctx, path);
  return g_file_test (full, G_FILE_TEST_EXISTS);
}

/* The first line of a file under the root, stripped; NULL when unreadable. */
static char *
read_line (const Ctx *ctx, const char *path)
{
  g_autofree char *full = path_in (ctx, path);
  char *text = NULL;
  if (!g_file_get_contents (full, &text, NULL, NULL))
    return NULL;
  text[strcspn (text, "\n")] = '\0';
  return g_strstrip (text);
}

/* Module parameters read Y/N (bool) or 1/0 (int). */
static gboolean
param_on (const char *value)
{
  return value != NULL && (g_str_equal (value, "Y") || g_str_equal (value, "y")
                           || g_str_equal (value, "1"));
}

static const char *
kvm_module (const Ctx *ctx)
{
  return ctx->cpu.vendor == NL_CPU_VENDOR_INTEL ? "kvm_intel" : "kvm_amd";
}

static const char *
extension_name (const Ctx *ctx)
{
  return ctx->cpu.vendor == NL_CPU_VENDOR_INTEL ? "vmx" : "svm";
}

static const char *
firmware_setting (const Ctx *ctx)
{
  return ctx->cpu.vendor == NL_CPU_VENDOR_INTEL
    ? "Intel Virtualization Technology (VT-x)" : "SVM Mode (AMD-V)";
}

/* ---- CPU ------------------------------------------------------------- */

static void
check_cpu (Ctx *ctx)
{
  g_autofree char *path = path_in (ctx, "proc/cpuinfo");
  g_autofree char *text = NULL;
  g_autofree char *fix = NULL;
  const char *ext;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    {
      add (ctx, "cpu-vendor", NL_HOST_STATUS_FAIL, "mount procfs: mount -t proc proc /proc",
           "cannot read /proc/cpuinfo");
      return;
    }
  nl_host_cpuinfo_parse (text, &ctx->cpu);
  if (ctx->cpu.vendor == NL_CPU_VENDOR_UNKNOWN)
    {
      add (ctx, "cpu-vendor", NL_HOST_STATUS_FAIL,
           "use an x86-64 host with an Intel (VT-x) or AMD (AMD-V) CPU",
           "CPU vendor '%s' is neither Intel nor AMD: nested Hyper-V needs VT-x or AMD-V",
           ctx->cpu.vendor_id ? ctx->cpu.vendor_id : "(none)");
      return;
    }
  add (ctx, "cpu-vendor", NL_HOST_STATUS_OK, NULL, "%s CPU (%s)%s",
       ctx->cpu.vendor == NL_CPU_VENDOR_INTEL ? "Intel" : "AMD",
       ctx->cpu.model_name ? ctx->cpu.model_name : ctx->cpu.vendor_id,
       ctx->cpu.hypervisor ? ", and this host is itself a virtual machine" : "");

  ext = extension_name (ctx);
  if (ctx->cpu.vendor == NL_CPU_VENDOR_INTEL ? ctx->cpu.vmx : ctx->cpu.svm)
    {
      add (ctx, "cpu-flag", NL_HOST_STATUS_OK, NULL,
           "the CPU offers %s (%s) in /proc/cpuinfo", ext,
           ctx->cpu.vendor == NL_CPU_VENDOR_INTEL ? "VT-x" : "AMD-V");
      return;
    }
  if (ctx->cpu.hypervisor)
    fix = g_strdup_printf (
      "this host is a VM: its own hypervisor must expose %s to it (KVM: nested=1 on the outer "
      "host and <cpu mode='host-passthrough'/>, or `nestlab nested enable` there; Hyper-V: "
      "Set-VMProcessor -VMName NAME -ExposeVirtualizationExtensions $true; VMware: \"Expose "
      "hardware assisted virtualization to the guest OS\"; clouds: an instance type with "
      "nested virtualization). Without it, machines run only under software emulation (slow, "
      "for testing), which nestlab chooses by itself",
      ext);
  else
    fix = g_strdup_printf (
      "enable \"%s\" in the firmware (BIOS/UEFI) setup, then power-cycle the host; "
      "if the setting is missing, this CPU cannot run KVM",
      firmware_setting (ctx));
  add (ctx, "cpu-flag", NL_HOST_STATUS_FAIL, fix,
       "%s is missing from the flags in /proc/cpuinfo: the CPU does not offer %s%s", ext,
       ctx->cpu.vendor == NL_CPU_VENDOR_INTEL ? "VT-x" : "AMD-V",
       ctx->cpu.hypervisor ? " (this host is a VM whose hypervisor hides it)"
                           : " (switched off in the firmware, or not supported)");
}

/* ---- KVM ------------------------------------------------------------- */

static void
check_kvm_device (Ctx *ctx)
{
  g_autofree char *fix = NULL;

  if (!ctx->facts->device)
    {
      if (ctx->cpu.vendor == NL_CPU_VENDOR_UNKNOWN)
        fix = g_strdup ("KVM needs an Intel or AMD CPU with VT-x or AMD-V");
      else if (!(ctx->cpu.vendor == NL_CPU_VENDOR_INTEL ? ctx->cpu.vmx : ctx->cpu.svm))
        fix = g_strdup_printf ("first make the CPU offer %s (see cpu-flag); then load KVM: "
                               "modprobe %s", extension_name (ctx), kvm_module (ctx));
      else
        fix = g_strdup_printf ("load KVM: modprobe %s (add %s to /etc/modules to load it at "
                               "boot); if that fails, `dmesg | grep -i kvm` says why, usually "
                               "\"%s\" off in the firmware setup",
                               kvm_module (ctx), kvm_module (ctx), firmware_setting (ctx));
      add (ctx, "kvm-device", NL_HOST_STATUS_FAIL, fix,
           "/dev/kvm does not exist: no KVM on this host, so VMs run only under QEMU's "
           "software emulation and cannot run a hypervisor at useful speed");
      return;
    }
  if (!ctx->facts->device_access)
    {
      add (ctx, "kvm-device", NL_HOST_STATUS_FAIL,
           "chgrp kvm /dev/kvm && chmod 0660 /dev/kvm, as Debian's udev rules do (on a host "
           "without udev, scripts/setup.sh does it before libvirtd starts); or name a user "
           "and group that can open it in /etc/libvirt/qemu.conf and restart libvirtd",
           "/dev/kvm is %s: QEMU runs as %s:%s (%s) and cannot open it, so libvirt cannot "
           "start KVM domains (and probes QEMU again on every call)",
           ctx->facts->device_owner, ctx->facts->qemu_user, ctx->facts->qemu_group,
           ctx->facts->qemu_source);
      return;
    }
  add (ctx, "kvm-device", NL_HOST_STATUS_OK, NULL, "/dev/kvm is %s: QEMU's %s:%s can open it",
       ctx->facts->device_owner, ctx->facts->qemu_user, ctx->facts->qemu_group);
}

/* A /dev/kvm on a CPU without VT-x/AMD-V is a KVM of another kind (such as
 * kvm_pvm, which pages instead of virtualizing): it runs only guests built
 * for it, and an ordinary guest hangs right after its BIOS. */
static void
check_kvm_hardware (Ctx *ctx)
{
  g_autofree char *backend = NULL;

  if (!ctx->facts->device || !ctx->facts->cpu_known || ctx->facts->hw_virt)
    return;
  if (exists_in (ctx, "sys/module/kvm_pvm"))
    backend = g_strdup (" (the kernel's KVM back end is kvm_pvm)");
  add (ctx, "kvm-hardware", NL_HOST_STATUS_FAIL,
       "nothing to do for emulation: nestlab runs machines under software emulation here by "
       "itself (domain type qemu; --kvm overrides for guests built for this KVM); for real "
       "KVM, use a host whose CPU offers vmx or svm (see cpu-flag)",
       "KVM without hardware virtualization: ordinary guests cannot run%s; /dev/kvm exists "
       "but the CPU offers neither vmx nor svm", backend ? backend : "");
}

static void
check_kvm_module (Ctx *ctx)
{
  const char *module = kvm_module (ctx);
  g_autofree char *dir = g_strdup_printf ("sys/module/%s", module);
  g_autofree char *nested_path = g_strdup_printf ("sys/module/%s/parameters/nested", module);
  g_autofree char *nested = NULL;
  g_autofree char *fix = NULL;

  if (ctx->cpu.vendor == NL_CPU_VENDOR_UNKNOWN)
    return;
  if (!exists_in (ctx, dir))
    {
      fix = g_strdup_printf ("modprobe %s (with `options %s nested=1` in "
                             "/etc/modprobe.d/kvm.conf, it loads with nesting on)",
                             module, module);
      add (ctx, "kvm-module", NL_HOST_STATUS_FAIL, fix,
           "the %s module is not loaded (no /sys/module/%s)", module, module);
      return;
    }
  nested = read_line (ctx, nested_path);
  if (param_on (nested))
    {
      add (ctx, "nested-param", NL_HOST_STATUS_OK, NULL,
           "%s nested=%s: KVM lets guests run hypervisors", module, nested);
      return;
    }
  fix = g_strdup_printf ("echo 'options %s nested=1' >> /etc/modprobe.d/kvm.conf, then "
                         "with no VM running: modprobe -r %s && modprobe %s",
                         module, module, module);
  add (ctx, "nested-param", NL_HOST_STATUS_FAIL, fix,
       "/sys/module/%s/parameters/nested is %s: KVM hides %s from its guests",
       module, nested ? nested : "unreadable", extension_name (ctx));
}

/* A kvm_intel/kvm_amd parameter that should be on. */
static void
check_param (Ctx *ctx, const char *id, const char *param, NlHostStatus when_off,
             const char *what, const char *effect)
{
  const char *module = kvm_module (ctx);
  g_autofree char *rel = g_strdup_printf ("sys/module/%s/parameters/%s", module, param);
  g_autofree char *dir = g_strdup_printf ("sys/module/%s", module);
  g_autofree char *value = NULL;
  g_autofree char *fix = NULL;

  if (!exists_in (ctx, dir))
    return;   /* kvm-module already says so */
  value = read_line (ctx, rel);
  if (param_on (value))
    {
      add (ctx, id, NL_HOST_STATUS_OK, NULL, "%s %s=%s: %s on", module, param, value, what);
      return;
    }
  fix = g_strdup_printf ("add %s=1 to the `options %s` line in /etc/modprobe.d/kvm.conf, then "
                         "with no VM running: modprobe -r %s && modprobe %s; if it still "
                         "reads N, the CPU lacks %s",
                         param, module, module, module, what);
  add (ctx, id, when_off, fix, "/sys/module/%s/parameters/%s is %s: %s",
       module, param, value ? value : "missing", effect);
}

/* ---- libvirt --------------------------------------------------------- */

static xmlXPathObjectPtr
eval (xmlXPathContextPtr xp, const char *expr)
{
  return xmlXPathEvalExpression ((const xmlChar *) expr, xp);
}

static gboolean
xpath_true (xmlXPathContextPtr xp, const char *expr)
{
  xmlXPathObjectPtr obj = eval (xp, expr);
  gboolean result = obj != NULL && xmlXPathCastToBoolean (obj);
  xmlXPathFreeObject (obj);
  return result;
}

static xmlDocPtr
parse_caps (const char *xml)
{
  return xmlReadMemory (xml, strlen (xml), "domcapabilities.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

static void
check_kvm_caps (Ctx *ctx, const char *xml, const char *fetch_error)
{
  xmlDocPtr doc;
  xmlXPathContextPtr xp;
  const char *ext = ctx->cpu.vendor == NL_CPU_VENDOR_INTEL ? "vmx"
                    : ctx->cpu.vendor == NL_CPU_VENDOR_AMD ? "svm" : NULL;

  if (xml == NULL)
    {
      add (ctx, "libvirt-kvm", NL_HOST_STATUS_FAIL,
           "fix the KVM checks above; until then nestlab runs machines under QEMU's software "
           "emulation by itself (slow, for testing only)",
           "libvirt cannot run KVM domains: %s",
           fetch_error ? fetch_error : "no domain capabilities for virttype kvm");
      return;
    }
  doc = parse_caps (xml);
  if (doc == NULL)
    {
      add (ctx, "libvirt-kvm", NL_HOST_STATUS_FAIL, NULL,
           "libvirt's domain capabilities for KVM do not parse");
      return;
    }
  xp = xmlXPathNewContext (doc);
  if (!xpath_true (xp, "/domainCapabilities/cpu/mode[@name='host-passthrough'][@supported='yes']"))
    add (ctx, "libvirt-kvm", NL_HOST_STATUS_FAIL,
         "fix the KVM checks above, then check `virsh domcapabilities --virttype kvm`",
         "libvirt reports CPU mode host-passthrough unsupported for KVM: guests cannot see "
         "the host's virtualization extensions");
  else
    add (ctx, "libvirt-kvm", NL_HOST_STATUS_OK, NULL,
         "libvirt supports KVM domains with CPU mode host-passthrough");

  if (ext != NULL
      && xpath_true (xp, "/domainCapabilities/cpu/mode[@name='host-model'][@supported='yes']"))
    {
      g_autofree char *expr = g_strdup_printf (
        "/domainCapabilities/cpu/mode[@name='host-model']/feature[@name='%s']"
        "[not(@policy='disable') and not(@policy='forbid')]", ext);
      if (xpath_true (xp, expr)
          || !xpath_true (xp, "/domainCapabilities/cpu/mode[@name='host-model']/feature"))
        add (ctx, "libvirt-host-model", NL_HOST_STATUS_OK, NULL,
             "libvirt's host-model CPU carries %s", ext);
      else
        {
          g_autofree char *fix = g_strdup_printf (
            "turn on nesting (see nested-param) and restart libvirtd so it probes the CPU "
            "again; nestlab itself uses host-passthrough with %s required", ext);
          add (ctx, "libvirt-host-model", NL_HOST_STATUS_WARN, fix,
               "libvirt's host-model CPU does not carry %s: domains with CPU mode host-model "
               "cannot run a hypervisor", ext);
        }
    }
  xmlXPathFreeContext (xp);
  xmlFreeDoc (doc);
}

static void
check_emulation_caps (Ctx *ctx, const char *xml, const char *fetch_error)
{
  xmlDocPtr doc;
  xmlXPathContextPtr xp;
  gboolean maximum;

  if (xml == NULL && fetch_error == NULL)
    return;
  if (xml == NULL || (doc = parse_caps (xml)) == NULL)
    {
      add (ctx, "emulation", NL_HOST_STATUS_INFO,
           "install QEMU: apt-get install qemu-system-x86",
           "software emulation (--emulate) is not available: %s",
           fetch_error ? fetch_error : "domain capabilities do not parse");
      return;
    }
  xp = xmlXPathNewContext (doc);
  maximum = xpath_true (xp, "/domainCapabilities/cpu/mode[@name='maximum'][@supported='yes']");
  xmlXPathFreeContext (xp);
  xmlFreeDoc (doc);
  if (maximum)
    add (ctx, "emulation", NL_HOST_STATUS_INFO, NULL,
         "software emulation is available: --emulate runs nested domains under QEMU (TCG) "
         "with CPU mode maximum: slow, for testing only");
  else
    add (ctx, "emulation", NL_HOST_STATUS_INFO,
         "upgrade QEMU and libvirt (CPU mode maximum needs libvirt 7.1)",
         "software emulation (--emulate) is not available: libvirt does not offer CPU mode "
         "maximum for virttype qemu");
}

/* ---- firmware, TPM, memory ------------------------------------------ */

static void
check_firmware (Ctx *ctx)
{
  static const char *const secure[] = {
    "usr/share/OVMF/OVMF_CODE_4M.secboot.fd", "usr/share/OVMF/OVMF_CODE_4M.ms.fd",
    "usr/share/OVMF/OVMF_CODE.secboot.fd", "usr/share/OVMF/OVMF_CODE.ms.fd",
    "usr/share/edk2/ovmf/OVMF_CODE.secboot.fd",
  };
  static const char *const plain[] = {
    "usr/share/OVMF/OVMF_CODE_4M.fd", "usr/share/OVMF/OVMF_CODE.fd",
    "usr/share/edk2/ovmf/OVMF_CODE.fd", "usr/share/qemu/OVMF.fd",
  };

  for (guint i = 0; i < G_N_ELEMENTS (secure); i++)
    if (exists_in (ctx, secure[i]))
      {
        add (ctx, "firmware", NL_HOST_STATUS_OK, NULL,
             "UEFI firmware with Secure Boot: /%s", secure[i]);
        return;
      }
  for (guint i = 0; i < G_N_ELEMENTS (plain); i++)
    if (exists_in (ctx, plain[i]))
      {
        add (ctx, "firmware", NL_HOST_STATUS_WARN,
             "apt-get install ovmf (Debian's package has OVMF_CODE_4M.secboot.fd)",
             "UEFI firmware without Secure Boot only (/%s): Windows 11 and Secure Boot "
             "templates will not start", plain[i]);
        return;
      }
  add (ctx, "firmware", NL_HOST_STATUS_FAIL, "apt-get install ovmf",
       "no OVMF UEFI firmware (looked for /usr/share/OVMF/OVMF_CODE_4M.secboot.fd and "
       "others): Windows Server and Hyper-V labs boot with UEFI");
}

static void
check_swtpm (Ctx *ctx)
{
  static const char *const paths[] = { "usr/bin/swtpm", "usr/local/bin/swtpm" };

  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    if (exists_in (ctx, paths[i]))
      {
        add (ctx, "swtpm", NL_HOST_STATUS_OK, NULL, "software TPM: /%s", paths[i]);
        return;
      }
  add (ctx, "swtpm", NL_HOST_STATUS_WARN, "apt-get install swtpm swtpm-tools",
       "swtpm is missing: machines with a TPM (Windows 11, BitLocker) will not start");
}

static void
check_memory (Ctx *ctx)
{
  g_autofree char *path = path_in (ctx, "proc/meminfo");
  g_autofree char *text = NULL;
  g_autofree char *have = NULL;
  guint64 kib = 0;
  guint64 bytes;
  guint64 tenths;
  const char *p;

  if (!g_file_get_contents (path, &text, NULL, NULL)
      || (p = strstr (text, "MemAvailable:")) == NULL)
    {
      add (ctx, "memory", NL_HOST_STATUS_WARN, NULL,
           "cannot read MemAvailable from /proc/meminfo");
      return;
    }
  kib = g_ascii_strtoull (p + strlen ("MemAvailable:"), NULL, 10);
  bytes = kib * 1024;
  /* Not g_format_size or %f: no no-break space, no locale's decimal comma. */
  tenths = (bytes * 10 + (G_GUINT64_CONSTANT (1) << 29)) >> 30;
  have = g_strdup_printf ("%" G_GUINT64_FORMAT ".%u GiB", tenths / 10, (guint) (tenths % 10));
  if (bytes < (G_GUINT64_CONSTANT (4) << 30))
    add (ctx, "memory", NL_HOST_STATUS_FAIL,
         "stop other VMs or services, or add memory: a nested hypervisor needs at least 4 GiB",
         "%s available: not enough for one nested hypervisor (4 GiB)", have);
  else if (bytes < NL_HOST_WARN_MEMORY)
    add (ctx, "memory", NL_HOST_STATUS_WARN,
         "a Hyper-V lab (domain controller, SCVMM, two Hyper-V hosts) wants 16 GiB or more; "
         "stop other VMs or add memory",
         "%s available: enough for one small nested host, cramped for a Hyper-V lab (8 GiB)",
         have);
  else
    add (ctx, "memory", NL_HOST_STATUS_OK, NULL, "%s available", have);
}

/* ---- public ---------------------------------------------------------- */

GPtrArray *
nl_host_check_run (const NlHostCheckOptions *options)
{
  Ctx ctx = { 0 };
  g_autoptr (NlKvmFacts) own_facts = NULL;

  ctx.root = options->root ? options->root : "/";
  ctx.checks = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_host_check_free);
  ctx.facts = options->facts;
  if (ctx.facts == NULL)
    ctx.facts = own_facts = nl_kvm_facts_read (ctx.root, FALSE);

  check_cpu (&ctx);
  check_kvm_device (&ctx);
  check_kvm_hardware (&ctx);
  check_kvm_module (&ctx);
  if (ctx.cpu.vendor == NL_CPU_VENDOR_INTEL)
    {
      check_param (&ctx, "ept", "ept", NL_HOST_STATUS_FAIL, "EPT (extended page tables)",
                   "guests get no EPT, and Hyper-V refuses to start without second-level "
                   "address translation");
      check_param (&ctx, "shadow-vmcs", "enable_shadow_vmcs", NL_HOST_STATUS_WARN,
                   "shadow VMCS", "every VMREAD/VMWRITE of a nested hypervisor traps: slow");
      check_param (&ctx, "apicv", "enable_apicv", NL_HOST_STATUS_WARN,
                   "APICv (APIC virtualization)", "interrupts into nested guests are slower");
    }
  else if (ctx.cpu.vendor == NL_CPU_VENDOR_AMD)
    check_param (&ctx, "npt", "npt", NL_HOST_STATUS_FAIL, "NPT (nested page tables)",
                 "guests get no NPT, and Hyper-V refuses to start without second-level "
                 "address translation");
  check_kvm_caps (&ctx, options->kvm_caps_xml, options->kvm_caps_error);
  check_emulation_caps (&ctx, options->qemu_caps_xml, options->qemu_caps_error);
  check_firmware (&ctx);
  check_swtpm (&ctx);
  check_memory (&ctx);

  nl_host_cpuinfo_clear (&ctx.cpu);
  return ctx.checks;
}

gboolean
nl_host_check_ready (const GPtrArray *checks)
{
  for (guint i = 0; i < checks->len; i++)
    if (((const NlHostCheck *) g_ptr_array_index (checks, i))->status == NL_HOST_STATUS_FAIL)
      return FALSE;
  return TRUE;
}

char *
nl_host_check_to_json (const GPtrArray *checks, const NlAccel *accel)
{
  GString *out = g_string_new ("{\n  \"ready\": ");

  g_string_append (out, nl_host_check_ready (checks) ? "true" : "false");
  g_string_append (out, ",\n  \"checks\": [");
  for (guint i = 0; i < checks->len; i++)
    {
      const NlHostCheck *c = g_ptr_array_index (checks, i);
      g_string_append (out, i ? ",\n    {\"id\": " : "\n    {\"id\": ");
      nl_json_append_string (out, c->id);
      nl_json_append_field (out, ", \"status\": ", nl_host_status_to_string (c->status));
      nl_json_append_field (out, ", \"message\": ", c->message);
      g_string_append (out, ", \"fix\": ");
      if (c->fix)
        nl_json_append_string (out, c->fix);
      else
        g_string_append (out, "null");
      g_string_append_c (out, '}');
    }
  g_string_append (out, "\n  ]");
  if (accel != NULL)
    {
      g_string_append (out, ",\n  \"machines\": ");
      nl_accel_append_json (out, accel);
    }
  g_string_append (out, "\n}\n");
  return g_string_free (out, FALSE);
}
