// processing-lambda: table extracts to a star schema in Parquet (see ProcessingHandler).
import CGlibcCompat
import LambdaRuntime
import ProcessingHandler

await LambdaMain.run(name: "processing-lambda", makeHandler: ProcessingLambda.make)
