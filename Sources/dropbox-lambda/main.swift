// dropbox-lambda: the dropbox handler's bootstrap. Init reads the settings, builds the AWS
// clients and loads the dataset catalog once; each invocation is an SQS batch of S3 events.
import CGlibcCompat
import DropboxHandler
import LambdaRuntime

await LambdaMain.run(name: "dropbox-lambda", makeHandler: DropboxLambda.make)
