/* Shared by the document module's files. */
#pragma once

#include <nestlab/doc.h>

/* A checkpoint record from its element (in a mark or a restore point);
 * NULL when it lacks a name or a known mode. */
NlCheckpointRecord *nl_doc_record_from_node (xmlNodePtr node);
/* Sets REC's attributes and <disk> children on element NODE. */
void nl_doc_record_to_node (const NlCheckpointRecord *rec, xmlNodePtr node);
/* A provisioning step record from its element, and back. */
NlStepRecord *nl_doc_step_from_node (xmlNodePtr node);
void nl_doc_step_to_node (const NlStepRecord *rec, xmlNodePtr node);
