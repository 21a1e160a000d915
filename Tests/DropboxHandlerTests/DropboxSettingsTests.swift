import DropboxHandler
import LambdaRuntime
import PipelineSettings
import Primitives
import Testing

@Suite("Dropbox settings from the environment")
struct DropboxSettingsTests {
    static let base = [
        "DROPBOX_BUCKET_NAME": "dropbox-bucket", "INGEST_BUCKET_NAME": "ingest-bucket", "INGEST_STATUS_TABLE": "status",
        "DATASETS_PARAMETER": "/pipeline/datasets",
    ]

    @Test("Defaults: received_files/, a 5120 MB multipart-copy threshold, 256 KiB samples, 30 MB files")
    func defaults() throws {
        let settings = try DropboxSettings(SettingsReader(Environment(Self.base)))
        #expect(settings.incomingPrefix == "received_files/")
        #expect(settings.multipartCopyThresholdBytes == 5120 << 20)
        #expect(settings.sampleBytes == 256 << 10)
        #expect(settings.common.maxFileSizeBytes == 30 << 20)
        #expect(settings.common.datasets == .parameter("/pipeline/datasets"))
        #expect(settings.statusTimeToLiveDays == nil)
        #expect(settings.batchConcurrency == 4)
        let sequential = try DropboxSettings(SettingsReader(Environment(Self.base.merging(["BATCH_CONCURRENCY": "1"]) { $1 })))
        #expect(sequential.batchConcurrency == 1)
    }

    @Test("Each bad or missing setting is an error naming it", arguments: [
        ("DROPBOX_BUCKET_NAME", nil), ("INGEST_BUCKET_NAME", "Bad_Bucket"), ("DROPBOX_PREFIX", "/abs/"),
        ("DROPBOX_PREFIX", "rejected/"), ("MULTIPART_COPY_THRESHOLD_MB", "9000"), ("DROPBOX_SAMPLE_KB", "0"),
        ("STATUS_TTL_DAYS", "forever"), ("INGEST_STATUS_TABLE", nil), ("MAX_FILE_SIZE_MB", "big"),
        ("BATCH_CONCURRENCY", "0"), ("BATCH_CONCURRENCY", "11"), ("BATCH_CONCURRENCY", "four"),
    ] as [(String, String?)])
    func badSetting(_ name: String, _ value: String?) {
        var values = Self.base
        values[name] = value
        do {
            _ = try DropboxSettings(SettingsReader(Environment(values)))
            Issue.record("expected \(name)=\(value ?? "<unset>") to be refused")
        } catch {
            #expect(error.setting == name)
        }
    }

    @Test("CONSOLE_LOG_LEVEL (the LASP construct's name) sets the log level when AWS_LAMBDA_LOG_LEVEL is unset")
    func consoleLogLevel() throws {
        let debug = try RuntimeConfiguration(environment: Environment(["CONSOLE_LOG_LEVEL": "DEBUG"]), defaultName: "x")
        #expect(debug.logLevel == .debug)
        let both = try RuntimeConfiguration(
            environment: Environment(["CONSOLE_LOG_LEVEL": "DEBUG", "AWS_LAMBDA_LOG_LEVEL": "ERROR"]), defaultName: "x")
        #expect(both.logLevel == .error)
        #expect(throws: LambdaRuntimeError.self) {
            try RuntimeConfiguration(environment: Environment(["CONSOLE_LOG_LEVEL": "LOUD"]), defaultName: "x")
        }
        do {
            _ = try RuntimeConfiguration(environment: Environment(["CONSOLE_LOG_LEVEL": "LOUD"]), defaultName: "x")
        } catch {
            #expect(error.message.hasPrefix("CONSOLE_LOG_LEVEL"))
        }
    }
}
