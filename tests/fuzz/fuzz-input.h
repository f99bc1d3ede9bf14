/* Shared by the fuzz harnesses: the loaders read files, so each input is
 * written to one temporary file first. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Writes DATA to the harness's temporary file and returns its path, or
 * NULL when it cannot be written (the input is then skipped). The file is
 * removed when the program exits. */
const char *nl_fuzz_input_file (const uint8_t *data, size_t size);
