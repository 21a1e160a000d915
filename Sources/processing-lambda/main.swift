print("processing-lambda")
