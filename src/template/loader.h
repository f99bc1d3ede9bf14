/* Internal state shared by the template loader's stages (load.c: read,
 * parse, include, expand; validate.c: semantic checks; osinfo.c: OS facts). */
#pragma once

#include <libxml/tree.h>
#include <nestlab/model.h>

typedef struct {
  GPtrArray *docs;          /* xmlDocPtr, top file first */
  GPtrArray *diags;         /* Diag* (load.c): "FILE:LINE: message" */
  GHashTable *params;       /* name -> value (final), borrowed from nodes/overrides */
  GHashTable *param_nodes;  /* name -> xmlNodePtr */
  GHashTable *profiles;     /* name -> xmlNodePtr */
  GHashTable *machine_nodes;/* template name (before expansion) -> GPtrArray of NlMachine* */
  GHashTable *includes;     /* <include> xmlNodePtr -> its xmlDocPtr */
  GChecksum *digest;
  char *admin_password;     /* the lab's default password secret */
  NlLab *lab;
} NlLoader;

/* Adds "FILE:LINE: message" for NODE (its document's URL and line). */
void nl_loader_diag (NlLoader *loader, xmlNodePtr node, const char *format, ...) G_GNUC_PRINTF (3, 4);
/* Adds "FILE:LINE: message" (LINE 0 leaves the line out). */
void nl_loader_diag_at (NlLoader *loader, const char *file, int line, const char *format, ...) G_GNUC_PRINTF (4, 5);

/* Attribute NAME of NODE with ${param} substituted; NULL when absent. */
char *nl_loader_attr (NlLoader *loader, xmlNodePtr node, const char *name);

/* Provisioning steps (steps.c): the <step> children of machine NODE into
 * PROTO->steps, and its recipe= attribute; then, once every machine is
 * built, each machine's final steps (recipes included), references and
 * digests. */
void nl_loader_parse_steps (NlLoader *loader, xmlNodePtr node, NlMachine *proto);
void nl_loader_expand_steps (NlLoader *loader);

/* Semantic checks on the built lab; reports through nl_loader_diag_at. */
void nl_template_validate (NlLoader *loader);

/* OS minimums: memory in bytes and vCPUs for OS, from osinfo-db or
 * nestlab's own table. *SOURCE says which ("osinfo-db" or a sentence).
 * FALSE when nothing is known about OS. */
gboolean nl_template_os_minimum (const char *os, guint64 *memory, guint *vcpus,
                                 const char **source);
