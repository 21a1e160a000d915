package import HTTPTransport
package import Primitives

/// What a handler knows about the invocation it is serving. A value, made once per invocation.
package struct LambdaContext: Sendable {
    package var requestId: String
    /// When Lambda stops the invocation.
    package var deadline: Timestamp
    package var invokedFunctionArn: String
    /// The X-Ray trace header (`Root=…;Parent=…;Sampled=…`), also in `_X_AMZN_TRACE_ID`.
    package var traceId: String?
    /// The client context JSON of a mobile SDK invocation, as sent.
    package var clientContext: String?
    /// The Cognito identity JSON, as sent.
    package var cognitoIdentity: String?
    /// Whether this is the first invocation of this process.
    package var isColdStart: Bool
    /// A logger whose lines carry this invocation's request id, trace id and cold-start flag.
    package var logger: Logger
    /// Metrics flushed as EMF at the end of the invocation.
    package var metrics: MetricsRecorder
    package var clock: any WallClock

    package init(
        requestId: String, deadline: Timestamp, invokedFunctionArn: String, traceId: String? = nil,
        clientContext: String? = nil, cognitoIdentity: String? = nil, isColdStart: Bool = false, logger: Logger,
        metrics: MetricsRecorder, clock: any WallClock = SystemClock()
    ) {
        self.requestId = requestId
        self.deadline = deadline
        self.invokedFunctionArn = invokedFunctionArn
        self.traceId = traceId
        self.clientContext = clientContext
        self.cognitoIdentity = cognitoIdentity
        self.isColdStart = isColdStart
        self.logger = logger
        self.metrics = metrics
        self.clock = clock
    }

    /// Time left before the deadline at `now` (negative once it has passed).
    package func remainingTime(now: Timestamp) -> Duration {
        .nanoseconds(deadline.nanosecondsSinceEpoch - now.nanosecondsSinceEpoch)
    }

    /// Time left before the deadline, by the context's clock.
    package var remainingTime: Duration { remainingTime(now: clock.now()) }
}

/// What a handler's set-up receives, once, before the first invocation: build AWS clients here.
package struct InitContext: Sendable {
    package var environment: Environment
    package var configuration: RuntimeConfiguration
    package var logger: Logger
    package var metrics: MetricsRecorder
    /// The process's one HTTP transport (libcurl), shared with the Runtime API client.
    package var transport: any HTTPTransport
    package var clock: any WallClock

    package init(
        environment: Environment, configuration: RuntimeConfiguration, logger: Logger, metrics: MetricsRecorder,
        transport: any HTTPTransport, clock: any WallClock = SystemClock()
    ) {
        self.environment = environment
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics
        self.transport = transport
        self.clock = clock
    }
}
