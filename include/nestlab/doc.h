/* nestlab's own documents: everything nestlab writes into libvirt objects
 * or onto disk in XML of its own, each with exactly one parse and one
 * format function here:
 *   - the lab mark (<nestlab:lab>) in the metadata of every domain and
 *     network a lab or a rollout replica owns, with the checkpoint records
 *     it carries;
 *   - restore points of rollout targets (<nestlab-restore:restore-point>);
 *   - patch history (<nestlab-patches:patches>).
 * Plus the libxml2 helpers these share. Pure: GLib and libxml2 only, no
 * libvirt; the virt layer reads and writes the text, this module knows
 * what it means. */
#pragma once

#include <gio/gio.h>
#include <glib.h>
#include <libxml/tree.h>
#include <nestlab/enum.h>

G_BEGIN_DECLS

G_DEFINE_AUTOPTR_CLEANUP_FUNC (xmlDoc, xmlFreeDoc)

/* The namespaces of nestlab's metadata elements, and their prefixes. */
#define NL_DOC_LAB_NS "https://nestlab.dev/xmlns/lab/1"
#define NL_DOC_LAB_PREFIX "nestlab"
#define NL_DOC_RESTORE_NS "https://nestlab.dev/xmlns/restore/1"
#define NL_DOC_RESTORE_PREFIX "nestlab-restore"
#define NL_DOC_PATCHES_NS "https://nestlab.dev/xmlns/patches/1"
#define NL_DOC_PATCHES_PREFIX "nestlab-patches"

/* ---- libxml2 helpers (xml.c) ---------------------------------------- */

/* Parses XML read back from libvirt; NL_ERROR_LIBVIRT when it does not. */
xmlDocPtr nl_xml_parse (const char *xml, GError **error);
/* Whether NODE is an element named NAME (any namespace). */
gboolean nl_xml_is (xmlNodePtr node, const char *name);
/* The first child element named NAME, or NULL (NODE may be NULL). */
xmlNodePtr nl_xml_child (xmlNodePtr node, const char *name);
/* Attribute NAME as a new string, or NULL (NODE may be NULL). */
char *nl_xml_prop (xmlNodePtr node, const char *name);
/* Sets attribute NAME of NODE to VALUE; nothing when VALUE is NULL. */
void nl_xml_set_prop (xmlNodePtr node, const char *name, const char *value);
/* Unlinks and frees every child element of NODE named NAME. */
void nl_xml_remove_children (xmlNodePtr node, const char *name);
/* NODE and its subtree as text; FORMAT indents. */
char *nl_xml_node_to_string (xmlNodePtr node, gboolean format);
/* The element NAME in namespace NS inside ROOT's <metadata>, or NULL. */
xmlNodePtr nl_xml_metadata_find (xmlNodePtr root, const char *ns, const char *name);

/* ---- Input files (load.c) --------------------------------------------- */

/* What kind of file nl_doc_load reads. */
typedef struct {
  const char *plural;      /* "templates", for messages */
  const char *a;           /* "an XML template", for messages */
  gsize max_size;          /* bytes */
  int max_depth;           /* element nesting */
  GResource *(*resource) (void); /* the resource bundle holding its schema */
  const char *schema;      /* path of its RelaxNG schema in that bundle */
  const char *schema_name; /* "template schema", for messages */
} NlDocKind;

/* Reads PATH the way every nestlab input file is read: screened (a regular
 * file within the size limit, UTF-8), parsed with line numbers and no
 * network access, its nesting bounded, its root element ROOT (no
 * namespace; ROOT_NOTE, when given, is added to the complaint) and valid
 * against KIND's schema. Returns the document, and the file's bytes in
 * *CONTENTS when CONTENTS is not NULL. On failure NULL, with *MESSAGE (new
 * string) and *LINE (0 when no line applies) set. */
xmlDocPtr nl_doc_load (const char *path, const NlDocKind *kind, const char *root, const char *root_note,
                       GBytes **contents, int *line, char **message);
/* The text of KIND's schema (static). */
const char *nl_doc_schema_text (const NlDocKind *kind);

/* ---- Checkpoint records ---------------------------------------------- */

/* How a checkpoint or restore point holds its state. */
typedef enum {
  NL_CHECKPOINT_INTERNAL,  /* a libvirt internal snapshot */
  NL_CHECKPOINT_EXTERNAL,  /* nestlab's own overlays (UEFI, raw or shared disks) */
  NL_CHECKPOINT_LAST
} NlCheckpointMode;
NL_ENUM_DECL (nl_checkpoint_mode);

/* One machine's part of a lab-wide checkpoint (<nestlab:checkpoint> in its
 * mark), or a rollout restore point (same fields, its own element). */
typedef struct {
  char *name;
  NlCheckpointMode mode;
  char *created;      /* ISO 8601 */
  gboolean running;   /* the machine ran when the checkpoint was taken */
  char **targets;     /* external: disk target devices ("vda") */
  char **disks;       /* external: overlay paths made at checkpoint time, same order */
  char **bases;       /* external: the frozen files they sit on, same order */
  char *nvram_copy;   /* external: path of the NVRAM copy, or NULL */
  char *tpm_copy;     /* external: path of the TPM state copy, or NULL */
  char *memory;       /* external, running: path of the saved memory, or NULL */
} NlCheckpointRecord;

void nl_checkpoint_record_free (NlCheckpointRecord *rec);
NlCheckpointRecord *nl_checkpoint_record_copy (const NlCheckpointRecord *rec);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlCheckpointRecord, nl_checkpoint_record_free)

/* ---- Restore points (restore.c) --------------------------------------
 * An overlay restore point of a rollout target, kept in the domain's
 * metadata in NL_DOC_RESTORE_NS, so plain libvirt domains (no lab mark)
 * can have one too. */
char *nl_restore_point_format (const NlCheckpointRecord *rec);
/* NULL when XML (may be NULL) holds no restore point. */
NlCheckpointRecord *nl_restore_point_parse (const char *xml);

/* ---- Provisioning step records ---------------------------------------
 * One per step a machine ran (<nestlab:step> in its mark): enough to skip
 * what is done, resume what was cut short and show what failed. */
typedef enum {
  NL_STEP_STATE_RUNNING,   /* started, not finished (a run was cut short when found so) */
  NL_STEP_STATE_DONE,
  NL_STEP_STATE_FAILED,
  NL_STEP_STATE_LAST
} NlStepState;
NL_ENUM_DECL (nl_step_state);

typedef struct {
  char *name;
  NlStepState state;
  char *digest;      /* of the step's definition when it ran */
  char *started;     /* ISO 8601 */
  char *finished;    /* ISO 8601, or NULL */
  int exit_code;     /* the last attempt's, -1 when none */
  guint attempts;
  char *tail;        /* the last lines of its output, or NULL */
} NlStepRecord;

void nl_step_record_free (NlStepRecord *rec);
NlStepRecord *nl_step_record_copy (const NlStepRecord *rec);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlStepRecord, nl_step_record_free)

/* ---- The lab mark (mark.c) ------------------------------------------- */

typedef struct {
  char *pool;
  char *name;
  gboolean shared;  /* a shared disk: every domain that attaches it lists it */
} NlOwnedVolume;

void nl_owned_volume_free (NlOwnedVolume *vol);

typedef struct {
  char *lab;          /* lab name: the mark itself */
  char *digest;       /* template digest */
  char *config;       /* digest of the object's rendered XML (set by lab/) */
  char *network;      /* networks: the template's network name */
  char *machine;      /* domains: the machine's name */
  char *role;
  gboolean nested;    /* domains only */
  guint wave;         /* domains only */
  char *os;           /* domains: libosinfo short id, or NULL */
  char *media;        /* domains: digest of the config disk's contents, or NULL */
  GPtrArray *volumes;     /* of NlOwnedVolume*: volumes this object owns,
                           * shared disks included (in each domain's mark) */
  char **after;           /* domains: machines started before this one */
  GPtrArray *checkpoints; /* of NlCheckpointRecord* */
  GPtrArray *steps;       /* of NlStepRecord*: provisioning, in run order */
  GPtrArray *extra;       /* of char*: child elements this version does not
                           * know, kept as text so a rewrite loses nothing */
} NlOwnership;

NlOwnership *nl_ownership_new (const char *lab);
void nl_ownership_free (NlOwnership *own);
NlOwnership *nl_ownership_copy (const NlOwnership *own);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlOwnership, nl_ownership_free)

/* Finds the mark in XML: either the <nestlab:lab> element itself (from
 * libvirt's metadata API, which may hand it back without its namespace) or
 * a <domain>/<network> document holding it in <metadata>. *OUT is NULL
 * (and TRUE returned) when there is no mark. FALSE only when XML does not
 * parse. */
gboolean nl_ownership_parse (const char *xml, NlOwnership **out, GError **error);
/* The same for a document already parsed: ROOT is the mark or a definition
 * holding one; NULL when there is none. */
NlOwnership *nl_ownership_read (xmlNodePtr root);
/* The mark as a standalone element without namespace, as libvirt's
 * metadata API takes it (it puts the element into NL_DOC_LAB_NS itself). */
char *nl_ownership_format (const NlOwnership *own);
/* Appends the mark element to PARENT (a <metadata> element). */
xmlNodePtr nl_ownership_append (const NlOwnership *own, xmlNodePtr parent);
/* The mark inside ROOT's <metadata> (a domain, network or snapshot
 * definition), or NULL. */
xmlNodePtr nl_ownership_find (xmlNodePtr root);
/* Puts OWN into definition ROOT in place of any mark it holds, making
 * <metadata> when there is none. */
void nl_ownership_put (xmlNodePtr root, const NlOwnership *own);

/* Whether OWN is a mark of LAB (of any lab when LAB is NULL). */
gboolean nl_ownership_is_lab (const NlOwnership *own, const char *lab);
gboolean nl_ownership_lists_volume (const NlOwnership *own, const char *pool, const char *name);
/* Lists a volume (once). */
void nl_ownership_add_volume (NlOwnership *own, const char *pool, const char *name, gboolean shared);
/* Lists every file of FILES (paths) as a volume of POOL, by its base name. */
void nl_ownership_add_files (NlOwnership *own, const char *pool, GPtrArray *files);
const NlCheckpointRecord *nl_ownership_find_checkpoint (const NlOwnership *own, const char *name);
/* Records a copy of REC, replacing a record of the same name. */
void nl_ownership_put_checkpoint (NlOwnership *own, const NlCheckpointRecord *rec);
/* Forgets checkpoint NAME; FALSE when there was none. */
gboolean nl_ownership_drop_checkpoint (NlOwnership *own, const char *name);
/* The record of step NAME, or NULL. */
NlStepRecord *nl_ownership_find_step (const NlOwnership *own, const char *name);
/* Records a copy of REC, replacing the record of the same name in place. */
void nl_ownership_put_step (NlOwnership *own, const NlStepRecord *rec);
/* Forgets every step record. */
void nl_ownership_clear_steps (NlOwnership *own);

/* ---- Patch history (patches.c) ----------------------------------------
 * <nestlab-patches:patches> in a domain's metadata, beside (not inside) the
 * lab mark: <patch id="KB1" run="RUN" installed="ISO 8601"/>... */
typedef struct {
  char *id;        /* patch id, such as a KB number */
  char *run;       /* the rollout run that installed it */
  char *installed; /* ISO 8601, UTC */
} NlPatchRecord;

void nl_patch_record_free (NlPatchRecord *record);
/* The records of XML, oldest first (empty for NULL): a new array of
 * NlPatchRecord*, or NULL with ERROR when XML does not parse. */
GPtrArray *nl_patch_history_parse (const char *xml, GError **error);
/* RECORDS as the element, without namespace (virDomainSetMetadata puts it
 * in NL_DOC_PATCHES_NS). */
char *nl_patch_history_format (GPtrArray *records);

G_END_DECLS
