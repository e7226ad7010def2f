"""Exit statuses shared by the commands that read the output (`dataset`, `report`,
`reparse`, `changes`), so that a script can tell a whole result from a partial one.

Python itself exits 1 on an unexpected error, so "written, but files were skipped" has a
status of its own instead of sharing 1 with a crash.
"""

OK = 0  # done: every file read, everything written
FAILED = 1  # nothing usable: no ledger, mixed sites, a setting (the tool's one line says)
USAGE = 2  # a bad argument or missing input: nothing read, nothing written
SKIPPED = 3  # written, but some files were skipped (each named in one warning)
UNWRITABLE = 4  # the output could not be written (disk full, no permission): nothing new published
