import org.junit.internal.TextListener;
import org.junit.runner.JUnitCore;
import org.junit.runner.Result;
import org.junit.runner.notification.Failure;
import org.junit.runner.notification.RunListener;

/**
 * JUnitCore's text output, plus one "skipped: <method> <reason>" line per test an assumption stopped (JUnitCore
 * counts those as passed): the Kotlin tests assert which checks really ran. Launched as a single-file program.
 */
public class JUnitWithSkips {
    public static void main(String[] args) throws ClassNotFoundException {
        JUnitCore core = new JUnitCore();
        core.addListener(new TextListener(System.out));
        core.addListener(new RunListener() {
            @Override
            public void testAssumptionFailure(Failure failure) {
                System.out.println("skipped: " + failure.getDescription().getMethodName() + " " + failure.getMessage());
            }
        });
        Class<?>[] classes = new Class<?>[args.length];
        for (int i = 0; i < args.length; i++) classes[i] = Class.forName(args[i]);
        Result result = core.run(classes);
        System.exit(result.wasSuccessful() ? 0 : 1);
    }
}
