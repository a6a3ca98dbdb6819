package call

// The methods the suites and the demo call.
const (
	SayHello   = "/helloworld.Greeter/SayHello"
	Login      = "/com.example.User/Login"
	GetProfile = "/com.example.User/GetProfile"
	DeleteUser = "/com.example.User/DeleteUser"
)

// The server's built-in demo users (services/user) as metadata pairs for Unary: admin may
// call everything, alice everything but DeleteUser. Each call returns a fresh slice.
func Admin() []string { return []string{"username", "admin", "password", "admin-password"} }
func Alice() []string { return []string{"username", "alice", "password", "alice-password"} }

// WrongPassword is alice with a password that is not hers.
func WrongPassword() []string { return []string{"username", "alice", "password", "not-her-password"} }
