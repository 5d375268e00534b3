// SPDX-License-Identifier: GPL-2.0
/*
 * klt_testmod: deliberate lock-ordering bugs for kvmlocktrace's real-kernel tests.
 *
 * Every case is triggered by a write to /sys/kernel/debug/klt_testmod/<case>. The two halves of
 * each inversion are separate writes, run at different times, so nothing ever deadlocks: a
 * lock-order tracer must still report the cycle, as lockdep would.
 *
 *   a1, a2   ABBA: a1 takes mutex_a then mutex_b; a2 takes mutex_b then mutex_a.
 *   b        KVM-shaped: a CPU-hotplug ONLINE callback takes mutex_m (so cpu_hotplug_lock ->
 *            mutex_m whenever a CPU comes online); b takes mutex_m then cpus_read_lock().
 *   c        "N" (seconds, default 10): a kthread holds mutex_c for N seconds; run a pm_test
 *            suspend meanwhile to get "lock held across suspend". Returns at once.
 *   d1, d2   rwsem cycle: d1 takes down_read(rwsem_s) then mutex_n; d2 takes mutex_n then
 *            down_write(rwsem_s).
 *   e        control: mutex_e1 then mutex_e2, always in that order (no finding expected).
 *   k        "FD": FD is the writer's KVM VM file descriptor; takes that VM's kvm->slots_lock,
 *            then its kvm->lock: against rules/kvm.rules' "kvm->lock > kvm->slots_lock" (the VM
 *            is the writer's own and idle, so nothing can deadlock).
 *   s        "N" (default 100000): lock storm for overload tests: N nested pairs of fresh
 *            heap mutexes, every pair a new dependency, always lower index first (no cycle).
 *   addrs    (read) "name address" of every lock above, for tests to name them.
 *   stats    (read) counters: runs of each case, hotplug callbacks, suspends seen with mutex_c held.
 *
 * The locks are global (not static) and exported with distinctive names so /proc/kallsyms
 * names them.
 */
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/file.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/kvm_host.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/seq_file.h>
#include <linux/suspend.h>
#include <linux/uaccess.h>

DEFINE_MUTEX(klt_testmod_mutex_a);
DEFINE_MUTEX(klt_testmod_mutex_b);
DEFINE_MUTEX(klt_testmod_mutex_m);
DEFINE_MUTEX(klt_testmod_mutex_c);
DEFINE_MUTEX(klt_testmod_mutex_n);
DECLARE_RWSEM(klt_testmod_rwsem_s);
DEFINE_MUTEX(klt_testmod_mutex_e1);
DEFINE_MUTEX(klt_testmod_mutex_e2);
EXPORT_SYMBOL_GPL(klt_testmod_mutex_a);
EXPORT_SYMBOL_GPL(klt_testmod_mutex_b);
EXPORT_SYMBOL_GPL(klt_testmod_mutex_m);
EXPORT_SYMBOL_GPL(klt_testmod_mutex_c);
EXPORT_SYMBOL_GPL(klt_testmod_mutex_n);
EXPORT_SYMBOL_GPL(klt_testmod_rwsem_s);
EXPORT_SYMBOL_GPL(klt_testmod_mutex_e1);
EXPORT_SYMBOL_GPL(klt_testmod_mutex_e2);

enum klt_case { CASE_A1, CASE_A2, CASE_B, CASE_C, CASE_D1, CASE_D2, CASE_E, CASE_K, CASE_S, NR_CASES };
static const char *const case_names[NR_CASES] = { "a1", "a2", "b", "c", "d1", "d2", "e", "k", "s" };

static atomic_t case_runs[NR_CASES];
static atomic_t online_calls;		/* hotplug ONLINE callback runs (took mutex_m) */
static atomic_t suspend_prepares;	/* PM_SUSPEND_PREPARE notifications */
static atomic_t suspend_saw_c_held;	/* ... of which with mutex_c held */

static struct dentry *klt_dir;
static int klt_cpuhp_state = -1;
static bool klt_pm_registered;

/* Case c: the holder kthread. Serialised by holder_lock (not a traced test lock). */
static DEFINE_MUTEX(holder_lock);
static struct task_struct *holder;

/* --- case bodies ----------------------------------------------------------------------------- */

static void klt_lock_pair(struct mutex *first, struct mutex *second)
{
	mutex_lock(first);
	mutex_lock(second);
	udelay(10);
	mutex_unlock(second);
	mutex_unlock(first);
}

static int case_a1(unsigned int arg)
{
	klt_lock_pair(&klt_testmod_mutex_a, &klt_testmod_mutex_b);
	return 0;
}

static int case_a2(unsigned int arg)
{
	klt_lock_pair(&klt_testmod_mutex_b, &klt_testmod_mutex_a);
	return 0;
}

/* The KVM shape: like kvm_online_cpu() taking kvm_lock under the hotplug lock. */
static int klt_cpu_online(unsigned int cpu)
{
	mutex_lock(&klt_testmod_mutex_m);
	atomic_inc(&online_calls);
	mutex_unlock(&klt_testmod_mutex_m);
	return 0;
}

/* ...and the other side: like a path that takes kvm_lock and then cpus_read_lock(). */
static int case_b(unsigned int arg)
{
	mutex_lock(&klt_testmod_mutex_m);
	cpus_read_lock();
	udelay(10);
	cpus_read_unlock();
	mutex_unlock(&klt_testmod_mutex_m);
	return 0;
}

static int klt_holder_fn(void *data)
{
	unsigned long end = jiffies + (unsigned long)data * HZ;

	mutex_lock(&klt_testmod_mutex_c);
	while (time_before(jiffies, end) && !kthread_should_stop())
		msleep(50);
	mutex_unlock(&klt_testmod_mutex_c);
	/* Stay around until reaped so kthread_stop() never races with our exit. */
	while (!kthread_should_stop()) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (!kthread_should_stop())
			schedule();
		__set_current_state(TASK_RUNNING);
	}
	return 0;
}

static void klt_reap_holder(void)
{
	if (holder) {
		kthread_stop(holder);
		put_task_struct(holder);
		holder = NULL;
	}
}

static int case_c(unsigned int seconds)
{
	struct task_struct *t;
	int i;

	if (!seconds)
		seconds = 10;
	mutex_lock(&holder_lock);
	klt_reap_holder();
	t = kthread_create(klt_holder_fn, (void *)(unsigned long)seconds, "klt_holder");
	if (IS_ERR(t)) {
		mutex_unlock(&holder_lock);
		return PTR_ERR(t);
	}
	get_task_struct(t);
	holder = t;
	wake_up_process(t);
	mutex_unlock(&holder_lock);
	/* Return only once the mutex is really held, so the caller can start a suspend at once. */
	for (i = 0; i < 200 && !mutex_is_locked(&klt_testmod_mutex_c); i++)
		msleep(5);
	return mutex_is_locked(&klt_testmod_mutex_c) ? 0 : -ETIMEDOUT;
}

static int case_d1(unsigned int arg)
{
	down_read(&klt_testmod_rwsem_s);
	mutex_lock(&klt_testmod_mutex_n);
	udelay(10);
	mutex_unlock(&klt_testmod_mutex_n);
	up_read(&klt_testmod_rwsem_s);
	return 0;
}

static int case_d2(unsigned int arg)
{
	mutex_lock(&klt_testmod_mutex_n);
	down_write(&klt_testmod_rwsem_s);
	udelay(10);
	up_write(&klt_testmod_rwsem_s);
	mutex_unlock(&klt_testmod_mutex_n);
	return 0;
}

static int case_e(unsigned int arg)
{
	klt_lock_pair(&klt_testmod_mutex_e1, &klt_testmod_mutex_e2);
	klt_lock_pair(&klt_testmod_mutex_e1, &klt_testmod_mutex_e2);
	return 0;
}

/* struct fd's accessor became fd_file() in 6.12 */
#ifndef fd_file
#define fd_file(f) ((f).file)
#endif

static int case_k(unsigned int fd)
{
	struct fd f = fdget(fd);
	struct kvm *kvm;

	if (!fd_file(f))
		return -EBADF;
	if (strcmp(fd_file(f)->f_path.dentry->d_name.name, "kvm-vm")) {
		fdput(f);
		return -EINVAL;
	}
	kvm = fd_file(f)->private_data;
	mutex_lock(&kvm->slots_lock);
	mutex_lock(&kvm->lock);
	udelay(10);
	mutex_unlock(&kvm->lock);
	mutex_unlock(&kvm->slots_lock);
	fdput(f);
	return 0;
}

/* Every pair is two never-reused mutexes: a tracer sees N new instance edges, far more than
 * its in-kernel edge map holds, and all of them from the same two call sites. */
static int case_s(unsigned int n)
{
	struct mutex *m;
	unsigned int i;

	if (!n)
		n = 100000;
	n = min(n, 1U << 20);
	m = kvmalloc_array(2 * (size_t)n, sizeof(*m), GFP_KERNEL);
	if (!m)
		return -ENOMEM;
	for (i = 0; i < 2 * n; i++)
		mutex_init(&m[i]);
	for (i = 0; i < n; i++) {
		mutex_lock(&m[2 * i]);
		mutex_lock(&m[2 * i + 1]);
		mutex_unlock(&m[2 * i + 1]);
		mutex_unlock(&m[2 * i]);
		if (!(i & 1023))
			cond_resched();
	}
	kvfree(m);
	return 0;
}

static int (*const case_fns[NR_CASES])(unsigned int) = {
	[CASE_A1] = case_a1, [CASE_A2] = case_a2, [CASE_B] = case_b, [CASE_C] = case_c,
	[CASE_D1] = case_d1, [CASE_D2] = case_d2, [CASE_E] = case_e, [CASE_K] = case_k, [CASE_S] = case_s,
};

/* --- suspend observation ------------------------------------------------------------------------ */

static int klt_pm_notify(struct notifier_block *nb, unsigned long action, void *data)
{
	if (action == PM_SUSPEND_PREPARE) {
		atomic_inc(&suspend_prepares);
		if (mutex_is_locked(&klt_testmod_mutex_c))
			atomic_inc(&suspend_saw_c_held);
	}
	return NOTIFY_DONE;
}

static struct notifier_block klt_pm_nb = { .notifier_call = klt_pm_notify };

/* --- debugfs ---------------------------------------------------------------------------------- */

static ssize_t klt_case_write(struct file *file, const char __user *ubuf, size_t count,
			      loff_t *ppos)
{
	unsigned long c = (unsigned long)file->private_data;
	unsigned int arg = 0;
	char buf[16];
	size_t n = min(count, sizeof(buf) - 1);
	int err;

	if (c >= NR_CASES)
		return -EINVAL;
	if (copy_from_user(buf, ubuf, n))
		return -EFAULT;
	buf[n] = '\0';
	if (kstrtouint(strim(buf), 0, &arg))
		arg = 0;
	err = case_fns[c](arg);
	if (err)
		return err;
	atomic_inc(&case_runs[c]);
	return count;
}

static const struct file_operations klt_case_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = klt_case_write,
	.llseek = noop_llseek,
};

#define KLT_ADDR(seq, lock) seq_printf(seq, "%s %px\n", #lock, &(lock))

static int addrs_show(struct seq_file *s, void *unused)
{
	KLT_ADDR(s, klt_testmod_mutex_a);
	KLT_ADDR(s, klt_testmod_mutex_b);
	KLT_ADDR(s, klt_testmod_mutex_m);
	KLT_ADDR(s, klt_testmod_mutex_c);
	KLT_ADDR(s, klt_testmod_mutex_n);
	KLT_ADDR(s, klt_testmod_rwsem_s);
	KLT_ADDR(s, klt_testmod_mutex_e1);
	KLT_ADDR(s, klt_testmod_mutex_e2);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(addrs);

static int stats_show(struct seq_file *s, void *unused)
{
	int i;

	for (i = 0; i < NR_CASES; i++)
		seq_printf(s, "runs_%s %d\n", case_names[i], atomic_read(&case_runs[i]));
	seq_printf(s, "online_calls %d\n", atomic_read(&online_calls));
	seq_printf(s, "suspend_prepares %d\n", atomic_read(&suspend_prepares));
	seq_printf(s, "suspend_saw_c_held %d\n", atomic_read(&suspend_saw_c_held));
	seq_printf(s, "mutex_c_held %d\n", mutex_is_locked(&klt_testmod_mutex_c));
	seq_printf(s, "cpuhp_state %d\n", klt_cpuhp_state);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(stats);

static void klt_cleanup(void)
{
	debugfs_remove_recursive(klt_dir);
	klt_dir = NULL;
	mutex_lock(&holder_lock);
	klt_reap_holder();
	mutex_unlock(&holder_lock);
	if (klt_pm_registered)
		unregister_pm_notifier(&klt_pm_nb);
	klt_pm_registered = false;
	if (klt_cpuhp_state >= 0)
		cpuhp_remove_state_nocalls(klt_cpuhp_state);
	klt_cpuhp_state = -1;
}

static int __init klt_testmod_init(void)
{
	unsigned long i;
	int err;

	err = cpuhp_setup_state_nocalls(CPUHP_AP_ONLINE_DYN, "klt_testmod:online",
					klt_cpu_online, NULL);
	if (err < 0)
		return err;
	klt_cpuhp_state = err;

	err = register_pm_notifier(&klt_pm_nb);
	if (err)
		goto fail;
	klt_pm_registered = true;

	klt_dir = debugfs_create_dir("klt_testmod", NULL);
	if (IS_ERR(klt_dir)) {
		err = PTR_ERR(klt_dir);
		klt_dir = NULL;
		goto fail;
	}
	for (i = 0; i < NR_CASES; i++)
		debugfs_create_file(case_names[i], 0200, klt_dir, (void *)i, &klt_case_fops);
	debugfs_create_file("addrs", 0444, klt_dir, NULL, &addrs_fops);
	debugfs_create_file("stats", 0444, klt_dir, NULL, &stats_fops);
	pr_info("klt_testmod: loaded (cpuhp state %d)\n", klt_cpuhp_state);
	return 0;
fail:
	klt_cleanup();
	return err;
}

static void __exit klt_testmod_exit(void)
{
	klt_cleanup();
	pr_info("klt_testmod: unloaded\n");
}

module_init(klt_testmod_init);
module_exit(klt_testmod_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kvmlocktrace test module: deliberate lock-ordering bugs, on demand");
