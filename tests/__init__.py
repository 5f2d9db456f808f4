"""The test suite: a tree that mirrors the code's (components/, models/, tasks/<task>/,
pipeline/, serving/), end-to-end tests apart in e2e/, and at the top the tests of the
package as a whole (command line, schema, lint, packaging, docs, benchmarks)."""

import pathlib

# The repository's root, wherever a test file sits in the tree.
ROOT = pathlib.Path(__file__).resolve().parent.parent
