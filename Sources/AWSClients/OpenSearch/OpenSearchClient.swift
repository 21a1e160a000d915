package import AWSCore
package import HTTPTransport
package import JSONCodec
package import Primitives

/// An OpenSearch call that failed, with the OpenSearch exception type when the cluster answered.
package struct OpenSearchError: Error, Sendable, CustomStringConvertible {
    package enum Code: String, Sendable, Hashable {
        /// The cluster answered with an error (`type` and `status` say which).
        case requestFailed = "OpenSearchRequestFailed"
        /// The index does not exist (`index_not_found_exception`).
        case indexNotFound = "OpenSearchIndexNotFound"
        /// The signature or the credentials were refused (HTTP 401/403).
        case accessDenied = "OpenSearchAccessDenied"
        /// No answer: connection, DNS, TLS or time-out.
        case unreachable = "OpenSearchUnreachable"
        /// No usable AWS credentials.
        case credentials = "OpenSearchCredentials"
        /// The answer could not be read.
        case invalidResponse = "OpenSearchInvalidResponse"
        /// The call was given something it cannot send (a bad index name, say).
        case invalidArgument = "OpenSearchInvalidArgument"
    }

    package var code: Code
    /// The HTTP status, when the cluster answered.
    package var status: Int?
    /// The OpenSearch exception type (`resource_already_exists_exception`…), when there was one.
    package var type: String?
    package var reason: String

    package init(_ code: Code, status: Int? = nil, type: String? = nil, reason: String) {
        self.code = code
        self.status = status
        self.type = type
        self.reason = reason
    }

    init(_ error: AWSError) {
        switch error {
        case .service(let service):
            let code: Code =
                service.code == "index_not_found_exception" ? .indexNotFound
                : (service.status == 401 || service.status == 403) ? .accessDenied : .requestFailed
            self.init(code, status: service.status, type: service.code, reason: service.message)
        case .transport(let transport):
            self.init(.unreachable, reason: "\(transport)")
        case .credentials(let credentials):
            self.init(.credentials, reason: "\(credentials)")
        case .invalidRequest(let detail):
            self.init(.invalidArgument, reason: detail)
        case .invalidResponse(let detail):
            self.init(.invalidResponse, reason: detail)
        }
    }

    package var description: String {
        var text = code.rawValue
        if let status { text += " (HTTP \(status))" }
        if let type { text += " \(type)" }
        return text + ": " + reason
    }
}

/// A query for `count` and `search`.
package enum OpenSearchQuery: Sendable, Hashable {
    case matchAll
    /// An exact term (not analysed): use a `keyword` field, or a lower-case token of a `text` field.
    case term(field: String, value: JSON)

    package var json: JSON {
        switch self {
        case .matchAll: ["match_all": [:]]
        case .term(let field, let value): ["term": .object(JSONObject([JSONObject.Member(key: field, value: ["value": value])]))]
        }
    }
}

/// One search hit.
package struct SearchHit: Sendable, Hashable {
    package var index: String
    package var id: String
    package var source: JSON
}

/// What `search` returns.
package struct SearchResult: Sendable, Hashable {
    package var total: Int
    /// `eq`, or `gte` when the total is a lower bound.
    package var totalRelation: String
    package var hits: [SearchHit]
}

/// A document read with `document(index:id:)`.
package struct StoredDocument: Sendable, Hashable {
    package var index: String
    package var id: String
    package var version: Int?
    package var source: JSON
}

/// Whether `createIndexIfMissing` made the index.
package enum IndexCreation: Sendable, Hashable {
    case created
    case alreadyExisted
}

/// A client for one OpenSearch managed domain (signed as `es`) or Serverless collection (`aoss`).
package struct OpenSearchClient: Sendable {
    package enum Flavor: String, Sendable, Hashable {
        /// A managed domain: SigV4 service `es`.
        case managed = "es"
        /// A Serverless collection: SigV4 service `aoss`, with `x-amz-content-sha256`.
        case serverless = "aoss"

        package var service: AWSService { self == .managed ? .openSearch : .openSearchServerless }
    }

    /// The environment variable holding the domain or collection URL.
    package static let endpointVariable = "OPEN_SEARCH_ENDPOINT"

    package let aws: AWSClient

    package init(aws: AWSClient) { self.aws = aws }

    package init(
        endpoint: ServiceEndpoint, flavor: Flavor = .managed, region: String, credentials: any CredentialProvider,
        transport: any HTTPTransport, retry: RetryStrategy = RetryStrategy(), clock: any WallClock = SystemClock(),
        options: HTTPRequestOptions = .standard
    ) {
        aws = AWSClient(
            service: flavor.service, region: region, endpoint: endpoint, credentials: credentials, transport: transport, retry: retry,
            clock: clock, options: options)
    }

    /// A client for the URL in `OPEN_SEARCH_ENDPOINT` (its own setting: `AWS_ENDPOINT_URL` does not apply).
    /// - Throws: `AWSConfigError` naming the variable when it is missing or not a URL.
    package init(
        settings: AWSSettings, flavor: Flavor = .managed, credentials: any CredentialProvider, transport: any HTTPTransport,
        quota: RetryQuota, variable: String = OpenSearchClient.endpointVariable
    ) throws(AWSConfigError) {
        guard let text = settings.environment[variable], !text.isEmpty else {
            throw AWSConfigError(
                .invalidSetting, setting: variable,
                detail: "no OpenSearch endpoint is configured: set \(variable) to the domain or collection URL (https://…)")
        }
        let endpoint: ServiceEndpoint
        do {
            endpoint = try ServiceEndpoint(parsing: text)
        } catch {
            throw AWSConfigError(.invalidEndpoint, setting: variable, detail: error.detail)
        }
        self.init(
            endpoint: endpoint, flavor: flavor, region: settings.region, credentials: credentials, transport: transport,
            retry: RetryStrategy(maxAttempts: settings.maxAttempts, quota: quota))
    }

    // MARK: Indices

    /// Whether `index` exists (HEAD).
    package func indexExists(_ index: String) async throws(OpenSearchError) -> Bool {
        let path = try Self.path(index)
        do {
            _ = try await aws.send(AWSRequest(method: "HEAD", path: path))
            return true
        } catch {
            if case .service(let service) = error, service.status == 404 { return false }
            throw OpenSearchError(error)
        }
    }

    /// Creates `index` with `settings` and `mappings` unless it exists: HEAD first, then PUT; losing
    /// a creation race (`resource_already_exists_exception`) counts as success.
    package func createIndexIfMissing(
        _ index: String, settings: JSONObject? = nil, mappings: JSONObject? = nil
    ) async throws(OpenSearchError) -> IndexCreation {
        if try await indexExists(index) { return .alreadyExisted }
        var body = JSONObject()
        if let settings { body.append("settings", .object(settings)) }
        if let mappings { body.append("mappings", .object(mappings)) }
        let request = AWSRequest(method: "PUT", path: try Self.path(index), headers: Self.jsonHeaders, body: .bytes(JSON.object(body).bytes))
        do {
            _ = try await aws.send(request)
            return .created
        } catch {
            if error.serviceCode == "resource_already_exists_exception" { return .alreadyExisted }
            throw OpenSearchError(error)
        }
    }

    /// Deletes `index`.
    package func deleteIndex(_ index: String) async throws(OpenSearchError) {
        try await call(AWSRequest(method: "DELETE", path: try Self.path(index)))
    }

    /// Makes recent writes to `index` visible to search and count.
    package func refresh(_ index: String) async throws(OpenSearchError) {
        try await call(AWSRequest(method: "POST", path: try Self.path(index, "_refresh")))
    }

    // MARK: Reading back

    /// How many documents of `index` match `query`.
    package func count(_ index: String, query: OpenSearchQuery = .matchAll) async throws(OpenSearchError) -> Int {
        let body: JSON = ["query": query.json]
        let response = try await call(
            AWSRequest(method: "POST", path: try Self.path(index, "_count"), headers: Self.jsonHeaders, body: .bytes(body.bytes)))
        guard let count = response["count"]?.intValue else { throw OpenSearchError(.invalidResponse, reason: "_count answer has no count") }
        return count
    }

    /// The first `size` hits (after `from`) of `query` in `index`.
    package func search(_ index: String, query: OpenSearchQuery = .matchAll, size: Int = 10, from: Int = 0) async throws(OpenSearchError)
        -> SearchResult
    {
        let body: JSON = ["query": query.json, "size": .number(size), "from": .number(from)]
        let response = try await call(
            AWSRequest(method: "POST", path: try Self.path(index, "_search"), headers: Self.jsonHeaders, body: .bytes(body.bytes)))
        guard let hits = response["hits"], let list = hits["hits"]?.arrayValue else {
            throw OpenSearchError(.invalidResponse, reason: "_search answer has no hits")
        }
        var result = SearchResult(
            total: hits["total"]?["value"]?.intValue ?? hits["total"]?.intValue ?? list.count,
            totalRelation: hits["total"]?["relation"]?.stringValue ?? "eq", hits: [])
        for hit in list {
            guard let id = hit["_id"]?.stringValue else { throw OpenSearchError(.invalidResponse, reason: "a hit has no _id") }
            result.hits.append(SearchHit(index: hit["_index"]?.stringValue ?? index, id: id, source: hit["_source"] ?? .null))
        }
        return result
    }

    /// The document `id` of `index`, or `nil` when there is none.
    package func document(index: String, id: String) async throws(OpenSearchError) -> StoredDocument? {
        let request = AWSRequest(method: "GET", path: try Self.path(index, "_doc", id))
        let response: HTTPResponse
        do {
            response = try await aws.send(request)
        } catch {
            if case .service(let service) = error, service.status == 404, service.code != "index_not_found_exception" { return nil }
            throw OpenSearchError(error)
        }
        let json = try Self.parse(response.body)
        guard json["found"]?.boolValue == true else { return nil }
        return StoredDocument(index: index, id: id, version: json["_version"]?.intValue, source: json["_source"] ?? .null)
    }

    // MARK: Plumbing

    static let jsonHeaders: HTTPHeaders = ["Content-Type": "application/json"]

    @discardableResult
    func call(_ request: AWSRequest) async throws(OpenSearchError) -> JSON {
        let response: HTTPResponse
        do {
            response = try await aws.send(request)
        } catch {
            throw OpenSearchError(error)
        }
        return try Self.parse(response.body)
    }

    static func parse(_ body: [UInt8]) throws(OpenSearchError) -> JSON {
        do {
            return try JSONParser.parse(body)
        } catch {
            throw OpenSearchError(.invalidResponse, reason: "the answer is not JSON: \(error)")
        }
    }

    /// `/<segment>/<segment>…`, each percent-encoded; the first must be a valid index name.
    static func path(_ index: String, _ rest: String...) throws(OpenSearchError) -> String {
        try validateIndexName(index)
        var path = "/" + PercentEncoding.encode(index)
        for segment in rest { path += "/" + PercentEncoding.encode(segment) }
        return path
    }

    /// OpenSearch's index naming rules, checked before anything is sent.
    package static func validateIndexName(_ name: String) throws(OpenSearchError) {
        func invalid(_ why: String) -> OpenSearchError { OpenSearchError(.invalidArgument, reason: "invalid index name '\(name)': \(why)") }
        if name.isEmpty || name == "." || name == ".." { throw invalid("it must not be empty, '.' or '..'") }
        if name.utf8.count > 255 { throw invalid("it is longer than 255 bytes") }
        if name.lowercased() != name { throw invalid("it must be lower case") }
        if let first = name.first, first == "_" || first == "-" || first == "+" { throw invalid("it must not start with _, - or +") }
        if name.contains(where: { " ,:\"*+/\\|?#><".contains($0) }) {
            throw invalid("it must not contain spaces or any of , : \" * + / \\ | ? # > <")
        }
    }
}
