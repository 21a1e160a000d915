// Tests arrive with their target.
