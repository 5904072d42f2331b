"""SQLite connection arguments for the test metadata DB: wait for locks instead of failing.

SQLite allows one writer at a time; the scheduler, dag-processor, api-server and CLI
commands all write, so each waits up to a minute for the others (Python's default is 5 s).
"""

connect_args = {"timeout": 60}
