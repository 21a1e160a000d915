print("probe-lambda: not built yet")
