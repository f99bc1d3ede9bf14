/* How machines run on a host: KVM or QEMU's software emulation. Reads the
 * host's facts from files under a root folder (CPU flags, /dev/kvm and who
 * QEMU runs as) and decides, so tests feed fixture trees. */
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nestlab/error.h>
#include <nestlab/host.h>
#include <nestlab/json.h>
#include "cpuinfo.h"

NL_ENUM_IMPL (nl_accel_mode, NL_ACCEL_LAST, "auto", "kvm", "emulate")

/* Debian's libvirt runs QEMU as libvirt-qemu:kvm when qemu.conf is silent. */
#define DEFAULT_QEMU_USER "libvirt-qemu"
#define DEFAULT_QEMU_GROUP "kvm"

void
nl_kvm_facts_free (NlKvmFacts *facts)
{
  if (facts == NULL)
    return;
  g_free (facts->cpu_source);
  g_free (facts->device_owner);
  g_free (facts->qemu_user);
  g_free (facts->qemu_group);
  g_free (facts->qemu_source);
  g_free (facts);
}

void
nl_accel_free (NlAccel *accel)
{
  if (accel == NULL)
    return;
  g_free (accel->reason);
  g_free (accel->warning);
  g_free (accel);
}

/* ---- CPU ------------------------------------------------------------- */

static void
read_cpu (const char *root, NlKvmFacts *facts)
{
  g_autofree char *path = g_build_filename (root, "proc/cpuinfo", NULL);
  g_autofree char *text = NULL;
  CpuInfo info = { 0 };

  facts->cpu_source = g_strdup ("/proc/cpuinfo");
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return;
  nl_host_cpuinfo_parse (text, &info);
  facts->cpu_known = info.has_flags;
  facts->hw_virt = info.vmx || info.svm;
  nl_host_cpuinfo_clear (&info);
}

/* ---- users and groups ------------------------------------------------ */

/* One line of ROOT/etc/passwd or ROOT/etc/group whose field KEY_FIELD
 * equals KEY, split on ':'; NULL when none. */
static GStrv
db_find (const char *root, const char *file, guint key_field, const char *key)
{
  g_autofree char *path = g_build_filename (root, "etc", file, NULL);
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      GStrv fields = g_strsplit (lines[i], ":", -1);
      if (g_strv_length (fields) > key_field && g_str_equal (fields[key_field], key))
        return fields;
      g_strfreev (fields);
    }
  return NULL;
}

static gboolean
parse_id (const char *text, guint *id)
{
  guint64 v;
  if (text == NULL || !g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT32 - 1, &v, NULL))
    return FALSE;
  *id = (guint) v;
  return TRUE;
}

/* qemu.conf names users and groups by name, or by number after a '+'. */
static gboolean
user_lookup (const char *root, gboolean nss, const char *user, guint *uid, guint *gid)
{
  g_auto (GStrv) fields = NULL;

  if (user[0] == '+')
    return parse_id (user + 1, uid) && (*gid = *uid, TRUE);
  fields = db_find (root, "passwd", 0, user);
  if (fields != NULL && g_strv_length (fields) > 3)
    return parse_id (fields[2], uid) && parse_id (fields[3], gid);
  if (nss)
    {
      struct passwd *pw = getpwnam (user);
      if (pw != NULL)
        {
          *uid = pw->pw_uid;
          *gid = pw->pw_gid;
          return TRUE;
        }
    }
  return FALSE;
}

static gboolean
group_lookup (const char *root, gboolean nss, const char *group, guint *gid)
{
  g_auto (GStrv) fields = NULL;

  if (group[0] == '+')
    return parse_id (group + 1, gid);
  fields = db_find (root, "group", 0, group);
  if (fields != NULL && g_strv_length (fields) > 2)
    return parse_id (fields[2], gid);
  if (nss)
    {
      struct group *gr = getgrnam (group);
      if (gr != NULL)
        {
          *gid = gr->gr_gid;
          return TRUE;
        }
    }
  return FALSE;
}

/* Whether USER is listed as a member of group GID (supplementary groups,
 * which libvirt gives QEMU's process). */
static gboolean
user_in_group (const char *root, gboolean nss, const char *user, guint gid)
{
  g_autofree char *key = g_strdup_printf ("%u", gid);
  g_auto (GStrv) fields = db_find (root, "group", 2, key);

  if (fields != NULL && g_strv_length (fields) > 3)
    {
      g_auto (GStrv) members = g_strsplit (fields[3], ",", -1);
      if (g_strv_contains ((const char *const *) members, user))
        return TRUE;
    }
  if (nss && fields == NULL)
    {
      struct group *gr = getgrgid (gid);
      for (guint i = 0; gr != NULL && gr->gr_mem[i] != NULL; i++)
        if (g_str_equal (gr->gr_mem[i], user))
          return TRUE;
    }
  return FALSE;
}

static char *
name_of (const char *root, gboolean nss, const char *file, guint id)
{
  g_autofree char *key = g_strdup_printf ("%u", id);
  g_auto (GStrv) fields = db_find (root, file, 2, key);

  if (fields != NULL)
    return g_strdup (fields[0]);
  if (nss && g_str_equal (file, "passwd"))
    {
      struct passwd *pw = getpwuid (id);
      if (pw != NULL)
        return g_strdup (pw->pw_name);
    }
  if (nss && g_str_equal (file, "group"))
    {
      struct group *gr = getgrgid (id);
      if (gr != NULL)
        return g_strdup (gr->gr_name);
    }
  return g_steal_pointer (&key);
}

/* ---- qemu.conf ------------------------------------------------------- */

/* KEY's string value in qemu.conf's TEXT (key = "value"), or NULL. */
static char *
conf_string (const char *text, const char *key)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  char *found = NULL;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *line = g_strstrip (lines[i]);
      char *eq = strchr (line, '=');
      char *value;
      char *end;

      if (line[0] == '#' || eq == NULL)
        continue;
      *eq = '\0';
      if (!g_str_equal (g_strstrip (line), key))
        continue;
      value = g_strstrip (eq + 1);
      if (value[0] != '"' || (end = strchr (value + 1, '"')) == NULL)
        continue;
      *end = '\0';
      g_free (found);   /* the last setting wins, as in libvirt */
      found = g_strdup (value + 1);
    }
  return found;
}

static void
read_qemu_identity (const char *root, NlKvmFacts *facts)
{
  g_autofree char *path = g_build_filename (root, "etc/libvirt/qemu.conf", NULL);
  g_autofree char *text = NULL;

  if (g_file_get_contents (path, &text, NULL, NULL))
    {
      facts->qemu_user = conf_string (text, "user");
      facts->qemu_group = conf_string (text, "group");
    }
  facts->qemu_source = g_strdup (facts->qemu_user || facts->qemu_group
                                 ? "/etc/libvirt/qemu.conf"
                                 : "Debian's default; /etc/libvirt/qemu.conf sets none");
  if (facts->qemu_user == NULL)
    facts->qemu_user = g_strdup (DEFAULT_QEMU_USER);
  if (facts->qemu_group == NULL)
    facts->qemu_group = g_strdup (DEFAULT_QEMU_GROUP);
}

/* ---- /dev/kvm -------------------------------------------------------- */

static gboolean
mode_allows (mode_t mode, int shift)
{
  return (mode & (S_IRUSR >> shift)) && (mode & (S_IWUSR >> shift));
}

static void
read_device (const char *root, gboolean session, NlKvmFacts *facts)
{
  g_autofree char *path = g_build_filename (root, "dev/kvm", NULL);
  g_autofree char *owner = NULL;
  g_autofree char *group = NULL;
  gboolean nss = g_str_equal (root, "/");
  struct stat st;
  guint uid = 0;
  gboolean in_group;

  facts->device_known = TRUE;
  if (stat (path, &st) != 0)
    return;
  facts->device = TRUE;
  owner = name_of (root, nss, "passwd", st.st_uid);
  group = name_of (root, nss, "group", st.st_gid);
  facts->device_owner = g_strdup_printf ("%s:%s %04o", owner, group,
                                         (unsigned) (st.st_mode & 07777));

  if (session)
    {
      uid = getuid ();
      in_group = getgid () == st.st_gid;
      if (!in_group)
        {
          int n = getgroups (0, NULL);
          g_autofree gid_t *list = g_new0 (gid_t, MAX (n, 1));
          n = getgroups (n, list);
          for (int i = 0; i < n && !in_group; i++)
            in_group = list[i] == st.st_gid;
        }
    }
  else
    {
      guint user_gid = 0;
      guint conf_gid = 0;
      if (!user_lookup (root, nss, facts->qemu_user, &uid, &user_gid))
        return;   /* no such user: QEMU could not start at all; no access */
      if (!group_lookup (root, nss, facts->qemu_group, &conf_gid))
        conf_gid = user_gid;
      in_group = conf_gid == st.st_gid || user_gid == st.st_gid
                 || user_in_group (root, nss, facts->qemu_user, st.st_gid);
    }
  if (uid == st.st_uid)
    facts->device_access = mode_allows (st.st_mode, 0);
  else if (in_group)
    facts->device_access = mode_allows (st.st_mode, 3);
  else
    facts->device_access = mode_allows (st.st_mode, 6);
}

NlKvmFacts *
nl_kvm_facts_read (const char *root, gboolean session)
{
  NlKvmFacts *facts = g_new0 (NlKvmFacts, 1);

  if (root == NULL)
    root = "/";
  read_cpu (root, facts);
  if (session)
    {
      const char *user = g_get_user_name ();
      facts->qemu_user = g_strdup (user);
      facts->qemu_group = name_of (root, g_str_equal (root, "/"), "group", getgid ());
      facts->qemu_source = g_strdup ("qemu:///session runs QEMU as this user");
    }
  else
    read_qemu_identity (root, facts);
  read_device (root, session, facts);
  return facts;
}

/* ---- the decision ---------------------------------------------------- */

static NlAccel *
accel_new (gboolean kvm, NlAccelMode mode, char *reason)
{
  NlAccel *accel = g_new0 (NlAccel, 1);
  accel->kvm = kvm;
  accel->mode = mode;
  accel->reason = reason;
  return accel;
}

/* Why KVM cannot work at all, or NULL. */
static char *
kvm_impossible (const NlKvmFacts *facts, gboolean kvm_offered)
{
  if (facts->device_known && !facts->device)
    return g_strdup ("/dev/kvm does not exist: this host has no KVM");
  if (facts->device_known && !facts->device_access)
    return g_strdup_printf ("QEMU runs as %s:%s (%s), which cannot open /dev/kvm (%s)",
                            facts->qemu_user, facts->qemu_group, facts->qemu_source,
                            facts->device_owner ? facts->device_owner : "unreadable");
  if (!kvm_offered)
    return g_strdup ("libvirt offers no 'kvm' domain type on this host");
  return NULL;
}

static char *
no_hw_virt (const NlKvmFacts *facts)
{
  if (!facts->cpu_known || facts->hw_virt)
    return NULL;
  return g_strdup_printf ("the CPU offers neither vmx nor svm (%s), so KVM here would run "
                          "without hardware virtualization, where ordinary guests hang",
                          facts->cpu_source);
}

NlAccel *
nl_accel_decide (const NlKvmFacts *facts, gboolean kvm_offered, NlAccelMode mode,
                 GError **error)
{
  g_autofree char *impossible = kvm_impossible (facts, kvm_offered);
  g_autofree char *no_hw = no_hw_virt (facts);
  NlAccel *accel;
  GString *why;

  if (mode == NL_ACCEL_EMULATE)
    return accel_new (FALSE, mode, g_strdup ("software emulation (domain type qemu): "
                                             "--emulate given"));
  if (mode == NL_ACCEL_KVM)
    {
      if (impossible != NULL)
        {
          g_set_error (error, NL_ERROR, NL_ERROR_UNSUPPORTED,
                       "--kvm cannot work here: %s (`nestlab host check` says how to fix it; "
                       "without --kvm, machines run under software emulation)", impossible);
          return NULL;
        }
      accel = accel_new (TRUE, mode, g_strdup ("KVM (domain type kvm): --kvm given"));
      if (no_hw != NULL)
        accel->warning = g_strdup_printf ("--kvm: %s; only guests built for this KVM will "
                                          "boot", no_hw);
      return accel;
    }

  if (impossible != NULL || no_hw != NULL)
    {
      why = g_string_new ("software emulation (domain type qemu): ");
      if (no_hw != NULL)
        g_string_append (why, no_hw);
      if (no_hw != NULL && impossible != NULL)
        g_string_append (why, "; and ");
      if (impossible != NULL)
        g_string_append (why, impossible);
      g_string_append (why, no_hw != NULL && impossible == NULL
                            ? " (--kvm overrides, for guests built for this KVM)"
                            : " (slow; nested Hyper-V will not perform)");
      return accel_new (FALSE, mode, g_string_free (why, FALSE));
    }
  why = g_string_new ("KVM (domain type kvm): ");
  if (facts->cpu_known)
    g_string_append_printf (why, "the CPU offers hardware virtualization (%s), ",
                            facts->cpu_source);
  if (facts->device_known)
    g_string_append_printf (why, "/dev/kvm opens for QEMU's %s:%s, ", facts->qemu_user,
                            facts->qemu_group);
  g_string_append (why, "and libvirt offers domain type kvm");
  return accel_new (TRUE, mode, g_string_free (why, FALSE));
}

void
nl_accel_append_json (GString *out, const NlAccel *accel)
{
  nl_json_append_field (out, "{\"domain_type\": ", accel->kvm ? "kvm" : "qemu");
  nl_json_append_field (out, ", \"mode\": ", nl_accel_mode_to_string (accel->mode));
  nl_json_append_field (out, ", \"reason\": ", accel->reason);
  g_string_append (out, ", \"warning\": ");
  if (accel->warning)
    nl_json_append_string (out, accel->warning);
  else
    g_string_append (out, "null");
  g_string_append_c (out, '}');
}
