// ingest-lambda: streams files under in/ of the ingest bucket into OpenSearch (see IngestHandler).
import CGlibcCompat
import IngestHandler
import LambdaRuntime

await LambdaMain.run(name: "ingest-lambda", makeHandler: IngestSetup.make)
