// Tests arrive with the record readers' next commit.
