import Foundation
package import LoopbackHTTP

/// The AWS service a request is for, read from the request itself.
package enum ProxiedService: String, Sendable, Hashable, CaseIterable, Comparable {
    case s3, sqs, dynamodb, ssm, opensearch, other

    package static func < (a: ProxiedService, b: ProxiedService) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// From `X-Amz-Target` (the JSON protocols), else the SigV4 credential scope's service
    /// (`Credential=<key>/<date>/<region>/<service>/aws4_request`).
    package init(request: RecordedRequest) {
        if let target = request.header("X-Amz-Target") {
            if target.hasPrefix("AmazonSQS.") { self = .sqs; return }
            if target.hasPrefix("DynamoDB_") { self = .dynamodb; return }
            if target.hasPrefix("AmazonSSM.") { self = .ssm; return }
        }
        let authorization = request.header("Authorization") ?? ""
        guard let credential = authorization.range(of: "Credential=") else {
            self = .other
            return
        }
        let scope = authorization[credential.upperBound...].prefix { $0 != "," && $0 != " " }.split(separator: "/")
        switch scope.count >= 4 ? String(scope[3]) : "" {
        case "s3": self = .s3
        case "sqs": self = .sqs
        case "dynamodb": self = .dynamodb
        case "ssm": self = .ssm
        case "es", "aoss": self = .opensearch
        default: self = .other
        }
    }
}

/// The error answers the services really give, per fault kind.
package enum ServiceErrors {
    /// The answer for `kind` (one of the answered-without-forwarding kinds) from `service`.
    package static func response(_ kind: FaultKind, service: ProxiedService, requestId: String) -> ScriptedResponse {
        switch service {
        case .s3, .other:
            let (status, code, message): (Int, String, String) =
                switch kind {
                case .internalError: (500, "InternalError", "We encountered an internal error. Please try again.")
                case .throttled: (503, "SlowDown", "Please reduce your request rate.")
                default: (503, "ServiceUnavailable", "Service is unable to handle request.")
                }
            let body =
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>\(code)</Code><Message>\(message)</Message>"
                + "<RequestId>\(requestId)</RequestId><HostId>\(requestId)</HostId></Error>"
            return .text(body, status: status, headers: [RecordedHeader("Content-Type", "application/xml"), RecordedHeader("x-amz-request-id", requestId)])
        case .sqs:
            let (status, code, message, query): (Int, String, String, String) =
                switch kind {
                case .internalError: (500, "InternalError", "We encountered an internal error. Please try again.", "InternalError;Receiver")
                case .throttled: (400, "RequestThrottled", "Request is throttled.", "RequestThrottled;Sender")
                default: (503, "ServiceUnavailable", "Service Unavailable", "ServiceUnavailable;Receiver")
                }
            return json(
                status: status, type: "com.amazonaws.sqs#\(code)", message: message, contentType: "application/x-amz-json-1.0",
                requestId: requestId, extra: [RecordedHeader("x-amzn-query-error", query)])
        case .dynamodb:
            let (status, code, message): (Int, String, String) =
                switch kind {
                case .internalError: (500, "InternalServerError", "Internal server error")
                case .throttled:
                    (
                        400, "ProvisionedThroughputExceededException",
                        "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API."
                    )
                default: (503, "ServiceUnavailable", "Service unavailable")
                }
            return json(
                status: status, type: "com.amazonaws.dynamodb.v20120810#\(code)", message: message,
                contentType: "application/x-amz-json-1.0", requestId: requestId)
        case .ssm:
            let (status, code, message): (Int, String, String) =
                switch kind {
                case .internalError: (500, "InternalServerError", "An error occurred on the server side.")
                case .throttled: (400, "ThrottlingException", "Rate exceeded")
                default: (503, "ServiceUnavailable", "Service unavailable")
                }
            return json(status: status, type: code, message: message, contentType: "application/x-amz-json-1.1", requestId: requestId)
        case .opensearch:
            let (status, type, reason): (Int, String, String) =
                switch kind {
                case .internalError: (500, "exception", "Internal error")
                case .throttled:
                    (
                        429, "es_rejected_execution_exception",
                        "rejected execution of coordinating operation [shard_detail=[], coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=1, max_coordinating_and_primary_bytes=0]"
                    )
                default: (503, "cluster_block_exception", "blocked by: [SERVICE_UNAVAILABLE/2/no master];")
                }
            let cause = "{\"type\":\"\(type)\",\"reason\":\"\(reason)\"}"
            let body = "{\"error\":{\"root_cause\":[\(cause)],\"type\":\"\(type)\",\"reason\":\"\(reason)\"},\"status\":\(status)}"
            return .text(body, status: status, headers: [RecordedHeader("Content-Type", "application/json; charset=UTF-8")])
        }
    }

    private static func json(
        status: Int, type: String, message: String, contentType: String, requestId: String, extra: [RecordedHeader] = []
    ) -> ScriptedResponse {
        let body = "{\"__type\":\"\(type)\",\"message\":\"\(message)\"}"
        return .text(
            body, status: status,
            headers: [RecordedHeader("Content-Type", contentType), RecordedHeader("x-amzn-RequestId", requestId)] + extra)
    }
}
