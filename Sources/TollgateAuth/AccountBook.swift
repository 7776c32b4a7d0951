import Foundation
import RegistryCore
import Synchronization

/// Each user's role and the last day their account works, as the admin set them (`user set
/// --role/--expires`), reloaded with the other user settings. Kept by auth: an expired account's
/// logins, tokens and sessions stop working like a disabled one's, with its own message.
public final class AccountBook: Sendable {
    public struct Account: Sendable, Equatable {
        public var admin: Bool
        /// `YYYY-MM-DD` (UTC), the last day the account works; nil: no end.
        public var expires: String?

        public init(admin: Bool = false, expires: String? = nil) {
            self.admin = admin
            self.expires = expires
        }
    }

    private let accounts = Mutex<[String: Account]>([:])
    let today: @Sendable () -> String

    /// `today`: the current UTC day as `YYYY-MM-DD` (tests set it).
    public init(today: @escaping @Sendable () -> String = AccountBook.utcToday) {
        self.today = today
    }

    public func replace(_ new: [String: Account]) { accounts.withLock { $0 = new.filter { $0.value != Account() } } }

    public func account(_ user: String) -> Account { accounts.withLock { $0[user] } ?? Account() }

    public func isAdmin(_ user: String) -> Bool { account(user).admin }

    /// The day the account ended, when it has (nil: it works today).
    public func expired(_ user: String) -> String? {
        guard let last = account(user).expires else { return nil }
        return last < today() ? last : nil
    }

    /// Accounts that end within `days` from today (not yet ended), by end day.
    public func expiringSoon(within days: Int, from date: Date = Date()) -> [(user: String, expires: String)] {
        let horizon = CivilDate(daysSinceEpoch: Self.day(date).daysSinceEpoch + Int64(days)).description
        let now = today()
        return accounts.withLock { a in
            a.compactMap { user, account in
                account.expires.flatMap { $0 >= now && $0 <= horizon ? (user, $0) : nil }
            }
        }.sorted { ($0.expires, $0.user) < ($1.expires, $1.user) }
    }

    @Sendable public static func utcToday() -> String { day(Date()).description }

    static func day(_ date: Date) -> CivilDate { CivilDate(unixSeconds: Int64(date.timeIntervalSince1970.rounded(.down))) }
}
