print("local-stack")
