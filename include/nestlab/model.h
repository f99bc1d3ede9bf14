/* The lab model: plain structs describing a lab after its template was parsed,
 * includes merged, params substituted, profiles applied and counts expanded.
 * Pure data; every string is owned by the struct that holds it. */
#pragma once

#include <glib.h>
#include <nestlab/enum.h>

G_BEGIN_DECLS

/* Where a model object came from, for error messages ("file:line"). */
typedef struct {
  char *file;
  int line;
} NlSource;

typedef enum {
  NL_NET_ISOLATED,
  NL_NET_NAT,
  NL_NET_BRIDGE,
  NL_NET_LAST
} NlNetworkMode;
NL_ENUM_DECL (nl_network_mode);

typedef enum {
  NL_FIRMWARE_BIOS,
  NL_FIRMWARE_UEFI,
  NL_FIRMWARE_LAST
} NlFirmware;
NL_ENUM_DECL (nl_firmware);

typedef enum {
  NL_ROLE_GENERIC,
  NL_ROLE_DOMAIN_CONTROLLER,
  NL_ROLE_SQL,
  NL_ROLE_VMM,
  NL_ROLE_HYPERV_HOST,
  NL_ROLE_LAST
} NlRole;
NL_ENUM_DECL (nl_role);

typedef enum {
  NL_DISK_BUS_SATA,
  NL_DISK_BUS_VIRTIO,
  NL_DISK_BUS_SCSI,
  NL_DISK_BUS_LAST
} NlDiskBus;
NL_ENUM_DECL (nl_disk_bus);

typedef enum {
  NL_NIC_MODEL_E1000E,
  NL_NIC_MODEL_VIRTIO,
  NL_NIC_MODEL_E1000,
  NL_NIC_MODEL_RTL8139,
  NL_NIC_MODEL_LAST
} NlNicModel;
NL_ENUM_DECL (nl_nic_model);

typedef enum {
  NL_OS_FAMILY_WINDOWS,
  NL_OS_FAMILY_LINUX,
  NL_OS_FAMILY_OTHER,
  NL_OS_FAMILY_LAST
} NlOsFamily;
NL_ENUM_DECL (nl_os_family);

/* Where a machine's first disk comes from. */
typedef enum {
  NL_DISK_SOURCE_IMAGE,   /* linked clone of a golden image */
  NL_DISK_SOURCE_BLANK,   /* empty disk of a given size */
  NL_DISK_SOURCE_LAST
} NlDiskSource;
NL_ENUM_DECL (nl_disk_source);

/* Where a secret's value comes from. */
typedef enum {
  NL_SECRET_FILE,        /* a file of mode 0600 (or stricter), else refused */
  NL_SECRET_ENV,         /* an environment variable */
  NL_SECRET_GENERATED,   /* made once, kept 0600 in nestlab's state folder */
  NL_SECRET_SOURCE_LAST
} NlSecretSource;
NL_ENUM_DECL (nl_secret_source);

/* A declared secret: only its name and where its value is. The value never
 * enters the model (nor anything rendered from it). */
typedef struct {
  char *name;
  NlSecretSource source;
  char *file;      /* NL_SECRET_FILE: absolute path */
  char *env;       /* NL_SECRET_ENV: variable name */
  NlSource src;
} NlSecret;

/* The lab's Active Directory domain. */
typedef struct {
  char *name;               /* DNS name: corp.nestlab.test */
  char *netbios;            /* upper case, at most 15 characters */
  char *controller;         /* machine name of the first domain controller */
  char *admin_password;     /* secret: the domain Administrator's password */
  char *safe_mode_password; /* secret: the directory services restore mode password */
  NlSource src;
} NlDomain;

/* A golden image: a volume in a storage pool, or a file path. */
typedef struct {
  char *name;
  char *os;        /* OS id: win2k22, debian12, ... */
  char *pool;      /* with volume; NULL when path is set */
  char *volume;
  char *path;      /* absolute path; NULL when pool/volume are set */
  char *format;    /* qcow2 or raw */
  NlSource src;
} NlImage;

/* A DHCP reservation. Those made from a machine NIC's static IP have MAC
 * NULL unless the template gave one, and name the machine (borrowed) and
 * NIC index, so rendering derives the MAC with nl_lab_nic_mac() and its
 * salt (replicas get new MACs). */
typedef struct {
  char *name;      /* host name */
  char *mac;       /* NULL: derive from machine + nic_index */
  char *ip;
  const struct NlMachine_ *machine; /* NULL for <host> entries */
  guint nic_index;
} NlReservation;

typedef struct {
  char *name;           /* name inside the lab */
  NlNetworkMode mode;
  char *bridge;         /* NL_NET_BRIDGE: existing host bridge */
  char *subnet;         /* "10.10.0.0/24"; NULL for bridge networks */
  guint32 address;      /* subnet address, host order */
  guint prefix;         /* subnet prefix length */
  char *gateway;        /* the host's address on the network */
  char *dhcp_start;     /* NULL when DHCP is off */
  char *dhcp_end;
  char *domain;         /* DNS domain, optional */
  GPtrArray *reservations; /* of NlReservation*, including machines' static IPs */
  NlSource src;
} NlNetwork;

typedef struct {
  NlDiskSource source;
  char *image;          /* NL_DISK_SOURCE_IMAGE: image name */
  guint64 size;         /* bytes; 0 = the image's own size */
  NlDiskBus bus;
} NlBootDisk;

typedef struct {
  guint64 size;         /* bytes */
  NlDiskBus bus;
} NlDataDisk;

/* A disk attached to several machines (failover clusters). */
typedef struct {
  char *name;
  guint64 size;         /* bytes */
  NlSource src;
} NlSharedDisk;

typedef struct {
  char *network;        /* network name inside the lab */
  char *ip;             /* static IP (a DHCP reservation), or NULL */
  char *mac;            /* NULL: derived from lab, machine and index */
  NlNicModel model;
  guint prefix;         /* with ip: prefix length (the network's by default) */
  char *gateway;        /* with ip: default gateway, or NULL for none; the
                           network's for a machine's first static NIC */
} NlNic;

/* Installation media a machine has in a CD-ROM drive (SQL Server, SCVMM,
 * the ADK...): a file, or a volume of a storage pool. Not the lab's: never
 * created or removed by nestlab. */
typedef struct {
  char *path;           /* absolute path, or NULL */
  char *pool;           /* with volume */
  char *volume;
} NlInstallMedia;

void nl_install_media_free (NlInstallMedia *media);

/* What a provisioning step does inside the guest. */
typedef enum {
  NL_STEP_RUN,      /* a script given inline: /bin/sh (Linux), PowerShell (Windows) */
  NL_STEP_SCRIPT,   /* a script file, run the same way */
  NL_STEP_EXEC,     /* a program and its arguments, no shell */
  NL_STEP_COPY,     /* a file copied into the guest */
  NL_STEP_REBOOT,   /* a reboot, waited for (a new boot, the agent answers) */
  NL_STEP_WAIT,     /* a probe script run until it succeeds, within the timeout */
  NL_STEP_KIND_LAST
} NlStepKind;
NL_ENUM_DECL (nl_step_kind);

typedef struct {
  char *name;
  NlStepKind kind;
  char *text;           /* run, wait: the script; script, copy: the file's contents */
  gsize text_len;       /* its length (copied files may hold NUL bytes) */
  char *file;           /* script, copy: the file as named */
  char *to;             /* copy: the path inside the guest */
  char **argv;          /* exec */
  char **after;         /* "MACHINE:STEP" once expanded ("@ROLE:STEP" as written) */
  guint timeout;        /* seconds */
  guint retries;        /* extra attempts after a failure */
  guint interval;       /* wait: seconds between probes */
  gboolean idempotent;  /* FALSE: an interrupted run is reported, not run again */
  gboolean before_role; /* a template step that runs before the role's */
  char **secrets;       /* secret names copied into the guest for the step (its file names) */
  char **secret_sources;/* once expanded: the lab secret each one holds, same order (recipes
                         * name the domain's as domain-admin and dsrm, the machine's
                         * administrator password as local-admin) */
  char *origin;         /* the recipe it comes from, or NULL (the template) */
  char *digest;         /* SHA-256 of the definition (set when expanded) */
  NlSource src;
} NlStep;

NlStep *nl_step_new (void);
NlStep *nl_step_copy (const NlStep *step);
void nl_step_free (NlStep *step);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlStep, nl_step_free)

typedef struct NlMachine_ {
  char *name;           /* machine name inside the lab (host name) */
  char *os;             /* OS id */
  NlOsFamily os_family;
  NlRole role;
  guint vcpus;
  guint64 memory;       /* bytes */
  NlFirmware firmware;
  gboolean secure_boot;
  gboolean tpm;
  gboolean nested;
  NlBootDisk boot_disk;
  gboolean has_boot_disk;
  GPtrArray *data_disks;   /* of NlDataDisk* */
  GPtrArray *shared_disks; /* of char* (NlSharedDisk names) */
  GPtrArray *nics;         /* of NlNic* */
  char **after;            /* NULL-terminated machine names; may be NULL */
  guint delay;             /* seconds to wait after starting it */
  char *kernel;            /* direct kernel boot, optional */
  char *initrd;
  char *cmdline;
  guint wave;              /* start wave (0 first), computed from after= */
  /* Identity, written to the machine's config disk on first boot. */
  char *timezone;          /* IANA name; the lab's when not overridden */
  char *workgroup;         /* Windows: a workgroup instead of the lab's domain */
  char **dns;              /* NULL-terminated extra DNS servers; may be NULL */
  gboolean rdp;            /* Windows: Remote Desktop on */
  char **ssh_keys;         /* NULL-terminated authorized keys (Linux); may be NULL */
  char *admin_password;    /* secret: Administrator's (root's) password */
  /* Provisioning: the steps run inside the guest, in order (the
   * template's before-role steps, the role's recipe, the template's
   * after-role steps), and the recipe as named ("none", a path, or NULL
   * for the role's shipped one). */
  GPtrArray *steps;        /* of NlStep* */
  char *recipe;
  GPtrArray *install_media;/* of NlInstallMedia*: read-only CD-ROMs after the config disk */
  NlSource src;
} NlMachine;

typedef struct {
  char *name;
  char *description;
  char *file;            /* the top template file */
  char *digest;          /* sha256 of the expanded template */
  char *pool;            /* storage pool for the lab's volumes */
  GHashTable *params;    /* char* -> char*, final values */
  GPtrArray *images;       /* of NlImage* */
  GPtrArray *networks;     /* of NlNetwork* */
  GPtrArray *shared_disks; /* of NlSharedDisk* */
  GPtrArray *machines;     /* of NlMachine*, expanded, in template order */
  guint n_waves;
  char *timezone;          /* IANA time zone of the machines: UTC by default */
  NlDomain *domain;        /* NULL: no Active Directory domain */
  GPtrArray *secrets;      /* of NlSecret*, declared in the template */
} NlLab;

NlLab *nl_lab_new (void);
void nl_lab_free (NlLab *lab);
NlMachine *nl_machine_new (void);
void nl_machine_free (NlMachine *machine);
NlNetwork *nl_network_new (void);
void nl_network_free (NlNetwork *network);
NlImage *nl_image_new (void);
void nl_image_free (NlImage *image);
NlNic *nl_nic_new (void);
void nl_nic_free (NlNic *nic);
NlReservation *nl_reservation_new (void);
void nl_reservation_free (NlReservation *reservation);
NlSharedDisk *nl_shared_disk_new (void);
void nl_shared_disk_free (NlSharedDisk *disk);
NlSecret *nl_secret_new (void);
void nl_secret_free (NlSecret *secret);
NlDomain *nl_domain_new (void);
void nl_domain_free (NlDomain *domain);

/* Lookups by name inside the lab; borrowed results, NULL when absent. */
NlMachine *nl_lab_find_machine (const NlLab *lab, const char *name);
NlNetwork *nl_lab_find_network (const NlLab *lab, const char *name);
NlImage *nl_lab_find_image (const NlLab *lab, const char *name);
NlSharedDisk *nl_lab_find_shared_disk (const NlLab *lab, const char *name);
NlSecret *nl_lab_find_secret (const NlLab *lab, const char *name);

/* The secret a lab declares without being told: generated, for the
 * Administrator (root) password of machines that name no other. */
#define NL_SECRET_DEFAULT_ADMIN "admin"

/* Identity facts derived from the model (borrowed results, NULL when there
 * are none): the machine that is the lab domain's first controller; the
 * domain MACHINE joins at first boot (NULL for a workgroup machine, a
 * domain controller, a non-Windows machine or a lab without a domain). */
NlMachine *nl_lab_domain_controller (const NlLab *lab);
const NlDomain *nl_lab_machine_joins (const NlLab *lab, const NlMachine *machine);
/* The first NIC of MACHINE with a static address, or NULL. */
NlNic *nl_machine_primary_nic (const NlMachine *machine, guint *index);

/* libvirt object names derived from the lab; newly allocated. */
char *nl_lab_domain_name (const NlLab *lab, const NlMachine *machine);
char *nl_lab_network_name (const NlLab *lab, const NlNetwork *network);
/* Host bridge device for an isolated/NAT network: at most 15 characters. */
char *nl_lab_bridge_name (const NlLab *lab, const NlNetwork *network);
/* Volume names: index 0 is the boot disk, 1.. the data disks. */
char *nl_lab_volume_name (const NlLab *lab, const NlMachine *machine, guint index);
char *nl_lab_shared_volume_name (const NlLab *lab, const NlSharedDisk *disk);
/* The machine's config disk: an ISO image (Unattend.xml or a cidata seed). */
char *nl_lab_config_volume_name (const NlLab *lab, const NlMachine *machine);

/* Stable identifiers derived from names (SHA-256), so rendering is
 * deterministic and a redefinition keeps them. SALT distinguishes copies
 * (a replica); NULL for the lab itself. Newly allocated. */
char *nl_lab_machine_uuid (const NlLab *lab, const NlMachine *machine, const char *salt);
char *nl_lab_network_uuid (const NlLab *lab, const NlNetwork *network, const char *salt);
/* A NIC's MAC: 02 (locally administered, unicast) and 40 bits of the
 * digest of lab, machine, NIC index and salt. */
char *nl_lab_nic_mac (const NlLab *lab, const NlMachine *machine, guint index, const char *salt);

/* OS family of an OS id ("win2k22" -> windows, "debian12" -> linux). */
NlOsFamily nl_os_family_of (const char *os);

/* Sizes: "4GiB", "512MiB", "60G", "1024" (bytes); binary and decimal units.
 * FALSE with a message in ERROR when it does not parse or overflows. */
gboolean nl_parse_size (const char *text, guint64 *bytes, GError **error);
/* "30s", "2m", "90" (seconds). */
gboolean nl_parse_duration (const char *text, guint *seconds, GError **error);
/* A size for people: "4 GiB", "512 MiB". */
char *nl_format_size (guint64 bytes);

/* IPv4 helpers, host byte order. */
gboolean nl_parse_ipv4 (const char *text, guint32 *addr);
char *nl_format_ipv4 (guint32 addr);
gboolean nl_parse_cidr (const char *text, guint32 *addr, guint *prefix);
gboolean nl_ipv4_in_subnet (guint32 addr, guint32 subnet, guint prefix);

/* Whether MACHINE is a Windows machine whose first provisioning step waits
 * for steps of other machines: then it is started only when that step can
 * run (a member of a domain boots once its domain controller is ready, so
 * the join of its first boot's specialize pass finds it). */
gboolean nl_machine_waits_to_start (const NlMachine *machine);

/* The step named NAME of MACHINE, or NULL. */
NlStep *nl_machine_find_step (const NlMachine *machine, const char *name);

/* nestlab's state folder: $NESTLAB_STATE_DIR, else /var/lib/nestlab. It
 * holds rollouts/ (one folder per run) and secrets/ (per lab). Newly
 * allocated: the folder, or WHAT inside it when WHAT is not NULL. */
char *nl_state_path (const char *what);

/* Names that libvirt accepts and that are safe in file names:
 * [A-Za-z0-9][A-Za-z0-9._-]*, at most 63 characters. */
gboolean nl_name_is_safe (const char *name);

/* A DNS domain name of two or more labels (RFC 1123 host name rules). */
gboolean nl_dns_name_is_valid (const char *name);
/* A NetBIOS (Windows computer, domain or workgroup) name: letters, digits
 * and '-', at most 15, not all digits. */
gboolean nl_netbios_name_is_valid (const char *name);

/* Time zones are IANA names ("Europe/Berlin", "UTC"). The Windows id of one
 * ("W. Europe Standard Time"), NULL when nestlab's table lacks it; and
 * whether a name is spelled like an IANA zone. */
const char *nl_timezone_windows (const char *iana);
gboolean nl_timezone_is_valid (const char *iana);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlLab, nl_lab_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlMachine, nl_machine_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlNetwork, nl_network_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlImage, nl_image_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlNic, nl_nic_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlReservation, nl_reservation_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlSharedDisk, nl_shared_disk_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlSecret, nl_secret_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlDomain, nl_domain_free)

G_END_DECLS
