// Package parallel runs the indexed steps of a render (parsing files,
// decoding and expanding intents) on a bounded number of goroutines.
package parallel

import (
	"context"
	"sync"
)

// Do runs fn(0..n-1) on up to workers goroutines, stopping early when
// ctx is done.
func Do(ctx context.Context, n, workers int, fn func(i int)) {
	if workers > n {
		workers = n
	}
	if workers <= 1 {
		for i := 0; i < n && ctx.Err() == nil; i++ {
			fn(i)
		}
		return
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}
