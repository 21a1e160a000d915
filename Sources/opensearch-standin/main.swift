print("opensearch-standin: not built yet")
