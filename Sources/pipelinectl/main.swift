print("pipelinectl")
