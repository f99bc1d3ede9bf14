/* Windows answer files as libxml2 trees, shared by the config disk's
 * Unattend.xml (media.c) and image build's Autounattend.xml
 * (autounattend.c): the unattend and wcm namespaces, the component
 * attributes Setup matches by, and text that holds secrets wiped from
 * memory once written out. Private to the media library. */
#pragma once

#include <glib.h>
#include <libxml/tree.h>

typedef struct {
  xmlDocPtr doc;
  xmlNodePtr root;   /* <unattend> */
  xmlNsPtr ns;
  xmlNsPtr wcm;
} NlUnattendDoc;

/* A new document with its <unattend> root in both namespaces. */
void nl_unattend_doc_init (NlUnattendDoc *u);
/* The document as text (a new string, wiped when freed through
 * nl_media_bytes_take_wiped); then wipes every text node and frees it. */
char *nl_unattend_doc_finish (NlUnattendDoc *u);
/* Wipes and frees the document without writing it (on failure). */
void nl_unattend_doc_clear (NlUnattendDoc *u);

/* An element of the unattend namespace, with escaped TEXT (or none). */
xmlNodePtr nl_unattend_el (const NlUnattendDoc *u, xmlNodePtr parent, const char *name, const char *text);
/* A wcm: attribute (wcm:action="add", wcm:keyValue). */
void nl_unattend_wcm (const NlUnattendDoc *u, xmlNodePtr node, const char *name, const char *value);
/* <settings pass=PASS> under the root. */
xmlNodePtr nl_unattend_settings (const NlUnattendDoc *u, const char *pass);
/* <component> with the attributes Windows Setup matches components by. */
xmlNodePtr nl_unattend_component (const NlUnattendDoc *u, xmlNodePtr settings, const char *name);

/* Frees a string after overwriting it. */
void nl_media_wipe_string (gpointer data);
/* TEXT as bytes that overwrite it when freed. */
GBytes *nl_media_bytes_take_wiped (char *text);
