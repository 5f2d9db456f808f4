"""`python -m tfx_seqgen` is the `seqgen` command."""

from tfx_seqgen.cli import console_main

console_main()
