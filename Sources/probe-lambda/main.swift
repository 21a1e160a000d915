// probe-lambda: a bootstrap with the pipeline handlers' set-up (AWS settings, credential chain,
// S3/SQS/DynamoDB clients, logger, metrics) around the SQS-of-S3 batch helper. Used by the
// runtime's subprocess tests and by `bench coldstart`.
import CGlibcCompat
import LambdaRuntime

await LambdaMain.run(name: "probe-lambda", makeHandler: ProbeHandler.make)
