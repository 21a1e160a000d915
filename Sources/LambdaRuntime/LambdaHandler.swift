/// A Lambda function's business logic: event bytes in, response bytes out. Built once at init by
/// `LambdaMain.run`, then called for every invocation.
package protocol LambdaHandler: Sendable {
    /// - Throws: any error; it is reported to Lambda as `Function.<Reason>` (see
    ///   `LambdaReportableError`) and the next invocation is served.
    func handle(_ event: [UInt8], context: LambdaContext) async throws -> [UInt8]
}

/// A handler given as a closure.
package struct ClosureHandler: LambdaHandler {
    let body: @Sendable ([UInt8], LambdaContext) async throws -> [UInt8]
    package init(_ body: @escaping @Sendable ([UInt8], LambdaContext) async throws -> [UInt8]) { self.body = body }
    package func handle(_ event: [UInt8], context: LambdaContext) async throws -> [UInt8] { try await body(event, context) }
}
