package import JSONCodec

/// An OpenSearch exception as it appears on the wire: `{"type":…,"reason":…, extra…, "caused_by":…}`.
/// Whole-request failures wrap it as `{"error":{"root_cause":[…],…},"status":N}`; bulk items carry
/// it as the item's `error`.
package struct OpenSearchFailure: Error, Sendable, Hashable {
    package var status: Int
    package var type: String
    package var reason: String
    /// Members after `type` and `reason` (`index`, `index_uuid`, `shard`, `resource.id`…), in order.
    package var extra: [(String, JSON)]
    package var causedBy: JSONObject?

    package init(status: Int, type: String, reason: String, extra: [(String, JSON)] = [], causedBy: JSONObject? = nil) {
        self.status = status
        self.type = type
        self.reason = reason
        self.extra = extra
        self.causedBy = causedBy
    }

    package static func == (lhs: OpenSearchFailure, rhs: OpenSearchFailure) -> Bool { lhs.object == rhs.object && lhs.status == rhs.status }
    package func hash(into hasher: inout Hasher) { hasher.combine(object) }

    /// The exception object.
    package var object: JSONObject {
        var object: JSONObject = ["type": .string(type), "reason": .string(reason)]
        for (key, value) in extra { object.append(key, value) }
        if let causedBy { object.append("caused_by", .object(causedBy)) }
        return object
    }

    /// The whole-request error body: the root cause is the exception without its cause.
    package var responseBody: JSON {
        var root: JSONObject = ["type": .string(type), "reason": .string(reason)]
        for (key, value) in extra { root.append(key, value) }
        return .object(["error": .object(rootCauseWrapped(root)), "status": .number(status)])
    }

    private func rootCauseWrapped(_ root: JSONObject) -> JSONObject {
        var error: JSONObject = ["root_cause": .array([.object(root)])]
        for member in object { error.append(member.key, member.value) }
        return error
    }

    // MARK: The exceptions the stand-in produces

    static func indexNotFound(_ index: String) -> OpenSearchFailure {
        OpenSearchFailure(
            status: 404, type: "index_not_found_exception", reason: "no such index [\(index)]",
            extra: [
                ("index", .string(index)), ("resource.id", .string(index)), ("resource.type", .string("index_or_alias")),
                ("index_uuid", .string("_na_")),
            ])
    }

    static func alreadyExists(_ index: String, uuid: String) -> OpenSearchFailure {
        OpenSearchFailure(
            status: 400, type: "resource_already_exists_exception", reason: "index [\(index)/\(uuid)] already exists",
            extra: [("index", .string(index)), ("index_uuid", .string(uuid))])
    }

    static func invalidIndexName(_ index: String, _ why: String) -> OpenSearchFailure {
        OpenSearchFailure(
            status: 400, type: "invalid_index_name_exception", reason: "Invalid index name [\(index)], \(why)",
            extra: [("index", .string(index)), ("index_uuid", .string("_na_"))])
    }

    static func illegalArgument(_ reason: String) -> OpenSearchFailure {
        OpenSearchFailure(status: 400, type: "illegal_argument_exception", reason: reason)
    }

    static func parsing(_ reason: String) -> OpenSearchFailure {
        OpenSearchFailure(status: 400, type: "parsing_exception", reason: reason)
    }

    static func validation(_ problems: [String]) -> OpenSearchFailure {
        var reason = "Validation Failed: "
        for (number, problem) in problems.enumerated() { reason += "\(number + 1): \(problem);" }
        return OpenSearchFailure(status: 400, type: "action_request_validation_exception", reason: reason)
    }

    static func jsonParse(_ detail: String) -> OpenSearchFailure {
        OpenSearchFailure(status: 400, type: "json_parse_exception", reason: detail)
    }

    static func rejectedExecution() -> OpenSearchFailure {
        OpenSearchFailure(
            status: 429, type: "rejected_execution_exception",
            reason: "rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, "
                + "all_bytes=0, coordinating_operation_bytes=0, max_coordinating_and_primary_bytes=53687091]")
    }

    static func unavailable(status: Int) -> OpenSearchFailure {
        switch status {
        case 503:
            OpenSearchFailure(
                status: 503, type: "unavailable_shards_exception",
                reason: "[0] primary shard is not active Timeout: [1m], request: [BulkShardRequest]")
        default:
            OpenSearchFailure(status: status, type: "exception", reason: "injected failure (HTTP \(status))")
        }
    }
}

extension JSONObject {
    init(_ pairs: [(String, JSON)]) {
        self.init(pairs.map { JSONObject.Member(key: $0.0, value: $0.1) })
    }
}
