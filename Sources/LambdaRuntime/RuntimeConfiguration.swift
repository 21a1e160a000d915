package import Primitives

/// The runtime's settings, read once at start-up. A missing or malformed setting is a typed error
/// whose message names the variable.
package struct RuntimeConfiguration: Sendable, Hashable {
    /// The largest event accepted: Lambda's 6 MiB invocation payload limit (plus the 100 bytes of
    /// slack the Runtime Interface Emulator allows).
    package static let defaultMaxEventBytes = 6 * 1024 * 1024 + 100
    package static let defaultNamespace = "swift-lambda-pipeline"

    /// `AWS_LAMBDA_RUNTIME_API` (`host:port`), absent outside Lambda.
    package var runtimeAPI: String?
    /// `AWS_LAMBDA_FUNCTION_NAME` (the executable's name outside Lambda).
    package var functionName: String
    package var functionVersion: String
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` in MB.
    package var memoryMB: Int?
    package var region: String?
    package var logFormat: LogFormat
    package var logLevel: LogLevel
    /// `METRICS_NAMESPACE` (default `swift-lambda-pipeline`).
    package var metricsNamespace: String
    /// `LAMBDA_MAX_EVENT_BYTES`: events larger than this are answered with `Runtime.EventTooLarge`.
    package var maxEventBytes: Int

    /// - Parameter defaultName: the function name when `AWS_LAMBDA_FUNCTION_NAME` is not set.
    /// - Throws: `LambdaRuntimeError` `.invalidConfiguration` naming the setting at fault.
    package init(environment env: Environment, defaultName: String) throws(LambdaRuntimeError) {
        if let api = env["AWS_LAMBDA_RUNTIME_API"] {
            guard let colon = api.lastIndex(of: ":"), !api[..<colon].isEmpty,
                let port = Int(api[api.index(after: colon)...]), (1...65535).contains(port),
                !api.contains("/"), !api.contains(" ")
            else {
                throw LambdaRuntimeError(
                    .invalidConfiguration, "AWS_LAMBDA_RUNTIME_API must be host:port (for example 127.0.0.1:9001), not '\(api)'")
            }
            runtimeAPI = api
        }
        functionName = env["AWS_LAMBDA_FUNCTION_NAME"] ?? defaultName
        functionVersion = env["AWS_LAMBDA_FUNCTION_VERSION"] ?? "$LATEST"
        if let text = env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] {
            guard let value = Int(text), value > 0 else {
                throw LambdaRuntimeError(
                    .invalidConfiguration, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE must be a whole number of MB, not '\(text)'")
            }
            memoryMB = value
        }
        region = env["AWS_REGION"] ?? env["AWS_DEFAULT_REGION"]
        if let text = env["AWS_LAMBDA_LOG_FORMAT"] {
            guard let format = LogFormat(name: text) else {
                throw LambdaRuntimeError(.invalidConfiguration, "AWS_LAMBDA_LOG_FORMAT must be JSON or Text, not '\(text)'")
            }
            logFormat = format
        } else {
            logFormat = .json
        }
        // `CONSOLE_LOG_LEVEL` is the LASP IngestProcessingConstruct's name for the same setting.
        let levelVariable = env["AWS_LAMBDA_LOG_LEVEL"] != nil ? "AWS_LAMBDA_LOG_LEVEL" : "CONSOLE_LOG_LEVEL"
        if let text = env[levelVariable] {
            guard let level = LogLevel(name: text) else {
                throw LambdaRuntimeError(
                    .invalidConfiguration, "\(levelVariable) must be one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL, not '\(text)'")
            }
            logLevel = level
        } else {
            logLevel = .info
        }
        let namespace = env["METRICS_NAMESPACE"] ?? Self.defaultNamespace
        guard namespace.utf8.count <= 255,
            namespace.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") })
        else {
            throw LambdaRuntimeError(
                .invalidConfiguration, "METRICS_NAMESPACE must be up to 255 printable ASCII characters without ':'")
        }
        metricsNamespace = namespace
        if let text = env["LAMBDA_MAX_EVENT_BYTES"] {
            guard let value = Int(text), value > 0 else {
                throw LambdaRuntimeError(.invalidConfiguration, "LAMBDA_MAX_EVENT_BYTES must be a positive whole number, not '\(text)'")
            }
            maxEventBytes = value
        } else {
            maxEventBytes = Self.defaultMaxEventBytes
        }
    }
}
