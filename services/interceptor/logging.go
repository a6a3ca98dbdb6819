package interceptor

import (
	"context"
	"log/slog"
	"runtime/debug"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// Logger is the slog logger the interceptors write to.
type Logger = *slog.Logger

func discard() Logger { return slog.New(slog.DiscardHandler) }

// levelFor picks a call's log level. Successful calls log at debug: at info
// a JSON line per call costs more than the 10% throughput budget the chain
// is allowed (see the benchmarks in services/serve). Client-side failures
// (bad credentials, not found, cancelled…) log at info; server faults at
// error.
func levelFor(c codes.Code) slog.Level {
	switch c {
	case codes.OK:
		return slog.LevelDebug
	case codes.Internal, codes.Unknown, codes.DataLoss:
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

func logCall(ctx context.Context, log Logger, method string, start time.Time, err error) {
	code := status.Code(err)
	level := levelFor(code)
	if !log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", method),
		slog.String("code", code.String()),
		slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
	}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		attrs = append(attrs, slog.String("peer", p.Addr.String()))
	}
	if err != nil {
		// The status message never holds credentials: auth errors name
		// the metadata key, never its value.
		attrs = append(attrs, slog.String("error", status.Convert(err).Message()))
	}
	log.LogAttrs(ctx, level, "grpc call", attrs...)
}

// LoggingUnary logs each unary call: method, code, duration, peer. It never
// logs metadata, so passwords cannot leak into logs.
func LoggingUnary(log Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := handler(ctx, req)
		logCall(ctx, log, info.FullMethod, start, err)
		return resp, err
	}
}

// LoggingStream logs each stream when it ends.
func LoggingStream(log Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		start := time.Now()
		err := handler(srv, ss)
		logCall(ss.Context(), log, info.FullMethod, start, err)
		return err
	}
}

var errPanic = status.Error(codes.Internal, "internal error")

func recovered(ctx context.Context, log Logger, method string, r any) {
	log.LogAttrs(ctx, slog.LevelError, "panic in handler",
		slog.String("method", method),
		slog.Any("panic", r),
		slog.String("stack", string(debug.Stack())))
}

// RecoveryUnary turns a panic below it into Internal and logs the stack; the
// server keeps serving.
func RecoveryUnary(log Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				recovered(ctx, log, info.FullMethod, r)
				resp, err = nil, errPanic
			}
		}()
		return handler(ctx, req)
	}
}

// RecoveryStream is RecoveryUnary for streams.
func RecoveryStream(log Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if r := recover(); r != nil {
				recovered(ss.Context(), log, info.FullMethod, r)
				err = errPanic
			}
		}()
		return handler(srv, ss)
	}
}
